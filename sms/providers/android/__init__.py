"""An office Android phone running "SMS Gateway for Android" (sms-gate.app): two-way texts in China.

Outbound through the app's 3rd-party API with the `android-sms-gateway` client (provider.py); inbound and
delivery events through its signed webhooks (webhook.py verifies and reads them; the view is
server/webhooks/android.py); a local stand-in of the phone's API and webhooks (standin.py).
"""
