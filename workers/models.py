"""Tables of the workers feature (none yet)."""
