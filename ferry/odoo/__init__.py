"""Ferry's async client for Odoo's external API: JSON-RPC for 17/18, JSON-2 for 19+.

::

    async with OdooClient(url, "ferry", "admin", api_key) as odoo:
        partner_id = await odoo.upsert_by_xmlid("res.partner", "ferry", "ada", {"name": "Ada"})

Errors are Ferry's (:mod:`ferry.errors`); the translation table is in :mod:`ferry.odoo.errors`.
"""

from ferry.odoo.client import ExternalId, OdooClient, OdooProtocolDeprecationWarning, ProtocolChoice
from ferry.odoo.errors import OdooFault
from ferry.odoo.version import ServerVersion

__all__ = [
    "ExternalId",
    "OdooClient",
    "OdooFault",
    "OdooProtocolDeprecationWarning",
    "ProtocolChoice",
    "ServerVersion",
]
