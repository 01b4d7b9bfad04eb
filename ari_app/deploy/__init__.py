"""What a deployment onto an existing Asterisk adds: the configuration snippets, the environment file."""
