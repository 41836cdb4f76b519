"""Twilio: two-way SMS outside China. Messages API out with the official `twilio` client (provider.py), signed
form webhooks in and TwiML replies (webhook.py verifies and reads them), and a local stand-in of the
Messages API for the contract suite (standin.py)."""
