"""Import every domain's models so metadata (and Alembic) sees all tables."""
from .accounts.models import ActivationCode, Identity, SchoolTransfer, ThrottleEvent, User, UserSession  # noqa: F401
from .audit.models import AuditEntry  # noqa: F401
from .orgs.models import Region, School  # noqa: F401
from .spaces.models import Space  # noqa: F401
