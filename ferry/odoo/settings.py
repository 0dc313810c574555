"""``systems.odoo``: where Ferry's Odoo client connects, and with which key."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ferry.secrets import SecretRef
from ferry.settings import Secret, SystemModel

__all__ = ["OdooSystem"]


class OdooSystem(SystemModel):
    url: str = "http://127.0.0.1:8069"
    database: str = "ferry"
    login: str = "admin"
    api_key: Secret = SecretRef("env", "FERRY_ODOO_API_KEY")
    protocol: Literal["auto", "jsonrpc", "json2"] = "auto"
    timeout_s: float = Field(default=10.0, gt=0)
    # Odoo's limit_time_real: the longest a request may run there. After a write went
    # unanswered, Ferry waits this long before it looks for the record again.
    request_limit_s: float = Field(default=120.0, gt=0)
