"""One module per ``gpta`` subcommand; see gpta/cli.py."""
