"""Twilio: two-way SMS outside China (Messages API out, signed form webhooks in, TwiML replies)."""
from sms.providers.twilio.provider import TwilioProvider  # noqa: F401
