"""/api/v1/members — placeholder until the foundation API lands."""
from flask_smorest import Blueprint

blp = Blueprint("members", __name__, url_prefix="/api/v1/members")
