"""Alibaba Cloud SMS (阿里云短信) with approved templates: alerts to leaders at scale, in China.

provider.py sends with the official `alibabacloud-dysmsapi20170525` SDK (SendSms, SendBatchSms,
QuerySendDetails: delivery results are asked for, so there is no webhook.py); templates.py is the catalogue
of purposes, their variables and the exact template texts an office submits for approval (docs/sms.md
prints them); standin.py is a local stand-in of the dysmsapi API.
"""
