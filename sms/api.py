"""Twilio webhooks and the message log — placeholder until the SMS feature lands (issue 4)."""
from flask import Blueprint

bp = Blueprint("sms", __name__, url_prefix="/sms")
