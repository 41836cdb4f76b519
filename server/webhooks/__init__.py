"""The SMS providers' webhooks as Flask views, one module per provider that calls us. Each verifies and reads
a delivery with its provider folder's `webhook.py` (framework-free) and hands the result to sms.inbound."""
