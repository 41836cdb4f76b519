"""POST /api/v1/sync — placeholder until the sync feature lands (issue 3)."""
from flask_smorest import Blueprint

blp = Blueprint("sync", __name__, url_prefix="/api/v1/sync")
