"""Lenient parsing of Odoo's ``server_version``.

Odoo announces versions in several spellings: ``17.0``, ``18.0-20250702`` (nightly build),
``17.0+e-20231108`` (enterprise nightly), ``saas~18.2`` and ``saas~17.4+e`` (Odoo Online
intermediate releases), ``19.0``. Only the major and minor numbers, and the saas / enterprise
flags, matter to Ferry.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["JSON2_SINCE", "ServerVersion"]

#: The first major version that serves JSON-2 and deprecates XML-RPC / JSON-RPC.
JSON2_SINCE = 19

_VERSION = re.compile(
    r"""^\s*
    (?P<saas>saas~)?
    (?P<major>\d+)
    (?:\.(?P<minor>\d+))?
    (?P<rest>.*?)\s*$""",
    re.VERBOSE | re.IGNORECASE,
)
_ENTERPRISE = re.compile(r"(?:^|\+)e(?:$|[^a-z])", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ServerVersion:
    major: int
    minor: int = 0
    saas: bool = False
    enterprise: bool = False
    raw: str = ""

    @classmethod
    def parse(cls, text: str) -> ServerVersion:
        """Parse ``server_version``; raise ``ValueError`` if no ``major[.minor]`` is found."""
        match = _VERSION.match(text)
        if match is None:
            raise ValueError(f"unrecognised Odoo server_version {text!r}")
        rest = match["rest"]
        return cls(
            major=int(match["major"]),
            minor=int(match["minor"] or 0),
            saas=match["saas"] is not None,
            enterprise=_ENTERPRISE.search(rest) is not None,
            raw=text,
        )

    @classmethod
    def from_info(cls, info: Sequence[object], raw: str = "") -> ServerVersion:
        """Build from ``server_version_info``: ``[18, 0, 0, 'final', 0, 'e']`` or
        ``['saas~18', 2, 0, 'final', 0, '']``."""
        if len(info) < 2:
            raise ValueError(f"unrecognised Odoo server_version_info {info!r}")
        head, minor = str(info[0]), info[1]
        parsed = cls.parse(head)
        enterprise = len(info) > 5 and str(info[5]).lower() == "e"
        if not isinstance(minor, int):
            raise ValueError(f"unrecognised Odoo server_version_info {info!r}")
        return cls(parsed.major, minor, parsed.saas, enterprise, raw or head)

    @property
    def serves_json2(self) -> bool:
        return self.major >= JSON2_SINCE

    @property
    def deprecates_jsonrpc(self) -> bool:
        return self.major >= JSON2_SINCE

    def __str__(self) -> str:
        return self.raw or f"{self.major}.{self.minor}"
