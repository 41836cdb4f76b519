"""`gridpatrol` subcommands of the workers feature. The CLI adds every click command listed in `commands`."""
commands: list = []
