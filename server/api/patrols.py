"""/api/v1/patrols — placeholder until the foundation API lands."""
from flask_smorest import Blueprint

blp = Blueprint("patrols", __name__, url_prefix="/api/v1/patrols")
