"""Worker health and weekly reports — placeholder until the workers feature lands (issue 5)."""
from flask_smorest import Blueprint

blp = Blueprint("workers", __name__, url_prefix="/api/v1/workers")
