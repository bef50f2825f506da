"""A reliability and gate-evidence test harness for multi-tenant PostgreSQL data layers.

The public API is listed in ``__all__``; everything else is internal.
"""

from harness.capabilities import Unsupported
from harness.errors import BackendUnavailable, ConfigError, HarnessError, UnsafeAppRole
from harness.lifecycle import Database, Run
from harness.target import TargetSpec, load_target
from harness.tenancy import Principal, bind_workspace, bound, bound_workspace

__all__ = [
    "BackendUnavailable",
    "ConfigError",
    "Database",
    "HarnessError",
    "Principal",
    "Run",
    "TargetSpec",
    "UnsafeAppRole",
    "Unsupported",
    "bind_workspace",
    "bound",
    "bound_workspace",
    "load_target",
]
