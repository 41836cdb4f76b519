"""/api/v1/roster — placeholder until the foundation API lands."""
from flask_smorest import Blueprint

blp = Blueprint("roster", __name__, url_prefix="/api/v1/roster")
