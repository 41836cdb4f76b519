"""`gridpatrol` subcommands of the sync feature. The CLI adds every click command listed in `commands`."""
commands: list = []
