"""`gridpatrol` subcommands of the sms feature. The CLI adds every click command listed in `commands`."""
commands: list = []
