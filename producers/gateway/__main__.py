"""``python -m producers.gateway``: the same as ``ferry gateway``."""

from ferry.cli.gateway import gateway

gateway(prog_name="python -m producers.gateway")
