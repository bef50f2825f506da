"""Every SQLAlchemy model of the reference, imported in one place so ``metadata`` holds them all.

Each area of the reference (events, entitlements, work items, documents, ...) keeps its models in
its own module, built on :class:`reference_impl.models.Base`, and is imported here; Alembic's
``env.py`` and the rehearsal's "models match" check read :data:`metadata`.
"""

from reference_impl import models
from reference_impl.ai import models as ai_models  # noqa: F401  (registers the AI data tables)

metadata = models.Base.metadata
