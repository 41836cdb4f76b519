"""/api/v1/devices — placeholder until the foundation API lands."""
from flask_smorest import Blueprint

blp = Blueprint("devices", __name__, url_prefix="/api/v1/devices")
