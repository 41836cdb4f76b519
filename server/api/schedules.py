"""/api/v1/schedules — placeholder until the foundation API lands."""
from flask_smorest import Blueprint

blp = Blueprint("schedules", __name__, url_prefix="/api/v1/schedules")
