"""The console: no SMS leaves the machine. Each text is printed and kept in memory (provider.py), the
embedded mode's default; `gridpatrol sms simulate` plays the resident texting in. It has no API to stand in
for and takes no webhooks."""
