"""Site-wide bits that belong to no one page family: the favicon browsers ask every origin for (a 404 there
is a console error on every page, in the field and in the browser tests)."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, send_file

ICON = Path(__file__).parent / "patrol_app" / "static" / "icon-192.png"

bp = Blueprint("site", __name__)


@bp.get("/favicon.ico")
def favicon():
    return send_file(ICON, mimetype="image/png", max_age=86400)
