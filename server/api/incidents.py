"""/api/v1/incidents — placeholder until the foundation API lands."""
from flask_smorest import Blueprint

blp = Blueprint("incidents", __name__, url_prefix="/api/v1/incidents")
