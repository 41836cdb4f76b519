"""Tables of the sync feature (none yet)."""
