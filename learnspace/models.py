"""Import every domain's models so metadata (and Alembic) sees all tables."""
from .accounts.models import (  # noqa: F401
    ActivationCode,
    CodeBatch,
    GuardianConsent,
    Identity,
    SchoolClaimReport,
    SchoolTransfer,
    ThrottleEvent,
    User,
    UserSession,
)
from .activity.models import ActivityDay  # noqa: F401
from .audit.models import AuditEntry  # noqa: F401
from .catalog.models import CatalogNode, SchoolEdition  # noqa: F401
from .comments.models import Comment, CommentLike, CommentReport  # noqa: F401
from .jobs.models import Job, JobWorker  # noqa: F401
from .lessons.models import Lesson, LessonFile, LessonView  # noqa: F401
from .moderation.models import BlockedTerm  # noqa: F401
from .orgs.models import Region, School  # noqa: F401
from .privacy.models import PrivacyRequest  # noqa: F401
from .search.models import SearchNode, SearchOutbox  # noqa: F401
from .spaces.models import Announcement, Follow, Space, SpaceVisit, TeacherProfile  # noqa: F401
from .stats.models import RankingWeights, StatsTarget  # noqa: F401
from .study.models import Favourite, LessonNote, WatchDay, WatchProgress  # noqa: F401
