"""Tables of the sms feature (none yet)."""
