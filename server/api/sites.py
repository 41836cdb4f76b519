"""/api/v1/sites — placeholder until the foundation API lands."""
from flask_smorest import Blueprint

blp = Blueprint("sites", __name__, url_prefix="/api/v1/sites")
