"""Judging what a target answered, never crashing on it.

A checker reads the target's output (a mirror, a catalog snapshot, a history). Output it cannot
read is output nothing explains: a failure of the target, with the raw data attached. The
checker's own exception is kept apart, as a separate section titled :data:`DEFECT_TITLE`, so a
harness bug is visible as one while the verdict stays on the target.
"""

from __future__ import annotations

import json
import traceback
from typing import Any

__all__ = ["DEFECT_TITLE", "checker_defect", "raw"]

DEFECT_TITLE = "checker defect (a harness bug, not the verdict)"


def checker_defect(exc: BaseException) -> str:
    """The checker's own traceback, for the :data:`DEFECT_TITLE` section."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def raw(data: Any) -> str:
    """``data`` as a reviewer can read it, whatever its shape: JSON when it serialises, else repr."""
    try:
        return json.dumps(data, indent=2, default=repr, sort_keys=True)
    except Exception:  # keys of mixed types cannot be sorted; unserialisable values: repr it all
        return repr(data)
