"""An emulator of Odoo's external API (JSON-RPC, XML-RPC, web session routes, JSON-2),
faithful at the wire, for Ferry's demo and tests.

    with RunningEmulator(EmulatorConfig(version="18.0", api_keys=["..."])) as odoo:
        odoo.url, odoo.emulator.faults.configure(...), odoo.emulator.add_webhook(...)
"""

from .emulator import EmulatorConfig, OdooEmulator
from .server import RunningEmulator, create_app, serve

__all__ = ["EmulatorConfig", "OdooEmulator", "RunningEmulator", "create_app", "serve"]
