"""Every SQLAlchemy model of the reference, imported in one place so ``metadata`` holds them all.

Each area of the reference (events, entitlements, work items, documents, ...) keeps its models in
its own module, built on :class:`reference_impl.models.Base`, and is imported here; Alembic's
``env.py`` and the rehearsal's "models match" check read :data:`metadata`.
"""

from reference_impl import models
from reference_impl.ai import models as ai_models  # noqa: F401  (registers the AI data tables)
from reference_impl.analytics import models as analytics_models  # noqa: F401
from reference_impl.entitlements import models as _entitlements  # noqa: F401
from reference_impl.work_items import models as _work_items  # noqa: F401  work items, timeline, tokens

metadata = models.Base.metadata
