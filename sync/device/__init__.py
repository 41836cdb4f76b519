"""The reference device client: what a patroller's phone does, in plain Python and SQLite (client.py).
It shares only the wire pieces with the server (sync.hlc) and imports nothing of the server's side."""
