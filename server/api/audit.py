"""/api/v1/audit — placeholder until the foundation API lands."""
from flask_smorest import Blueprint

blp = Blueprint("audit", __name__, url_prefix="/api/v1/audit")
