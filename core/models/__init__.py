"""The foundation's tables, the background rules' included (core/models/alerts.py: planned windows, alerts,
overdue tracks, weekly reports, periodic runs). The features sync and sms keep their own tables in their own
`models` module and import it from their `init_app`, so the foundation loads without its features;
`server.import_feature_models()` loads them all for Alembic and `create_all` (one metadata)."""
from core.models.base import utcnow, new_uuid  # noqa: F401
from core.models.areas import Area, AREA_KINDS  # noqa: F401
from core.models.members import (  # noqa: F401
    Assignment, Device, Member, StaffToken, ROLES, LEADER_ROLES, LEADER_ROLE_FOR_KIND, STAFF_ROLES)
from core.models.schedules import PatrolSchedule, DEFAULT_WINDOWS  # noqa: F401
from core.models.patrols import Patrol, PATROL_OUTCOMES, PATROL_SOURCES  # noqa: F401
from core.models.incidents import (  # noqa: F401
    Category, Counter, Incident, IncidentEvent, HANDLING_CLASSES, STATUSES, OPEN_STATUSES, SOURCES,
    EVENT_KINDS, CHANNELS)
from core.models.sites import Site, SiteInspection, SITE_KINDS, SITE_STATUSES  # noqa: F401
from core.models.audit import AuditLog  # noqa: F401
from core.models.pairing import PairingCode  # noqa: F401,E402
from core.models.security import RateLimit  # noqa: F401,E402
from core.models.alerts import OverdueTrack, PatrolWindow, PeriodicRun, WeeklyReport, WorkerAlert  # noqa: F401,E402
