"""Offline-first sync: one conflict-resolving endpoint and the reference device client."""
