"""/api/v1/areas — placeholder until the foundation API lands."""
from flask_smorest import Blueprint

blp = Blueprint("areas", __name__, url_prefix="/api/v1/areas")
