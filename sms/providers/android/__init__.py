"""An office Android phone running "SMS Gateway for Android" (sms-gate.app): two-way texts in China.

Outbound through the app's 3rd-party API with the `android-sms-gateway` client (provider.py); inbound and
delivery events through its signed webhooks (webhook.py parses and verifies, webhooks.py is the view).
"""
