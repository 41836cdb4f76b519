"""/api/v1/auth — placeholder until the foundation API lands."""
from flask_smorest import Blueprint

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth")
