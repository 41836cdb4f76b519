"""`UTCDateTime` under the name the released migrations import (see server/models/__init__.py)."""
from core.models.base import UTCDateTime  # noqa: F401
