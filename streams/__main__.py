"""``python -m streams [--config FILE]``: the same as ``ferry streams``."""

from ferry.cli.streams import streams_command

if __name__ == "__main__":
    streams_command()
