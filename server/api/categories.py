"""/api/v1/categories — placeholder until the foundation API lands."""
from flask_smorest import Blueprint

blp = Blueprint("categories", __name__, url_prefix="/api/v1/categories")
