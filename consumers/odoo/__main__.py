"""``python -m consumers.odoo [--config FILE]``: the Odoo sink (same as ``ferry sink odoo``)."""

from __future__ import annotations

import argparse

from consumers.odoo.service import main

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m consumers.odoo")
    parser.add_argument("--config", default=None, help="ferry.yaml (default: FERRY_CONFIG)")
    raise SystemExit(main(parser.parse_args().config))
