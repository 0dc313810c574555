from __future__ import annotations

import pytest

from ferry.odoo.version import ServerVersion


@pytest.mark.parametrize(
    ("raw", "major", "minor", "saas", "enterprise"),
    [
        ("17.0", 17, 0, False, False),
        ("18.0-20250702", 18, 0, False, False),
        ("17.0+e-20231108", 17, 0, False, True),
        ("saas~18.2", 18, 2, True, False),
        ("19.0", 19, 0, False, False),
        ("saas~17.4+e", 17, 4, True, True),
        ("18.0+e", 18, 0, False, True),
        (" 19.0 ", 19, 0, False, False),
        ("20", 20, 0, False, False),
        ("18.0alpha1", 18, 0, False, False),
        ("SAAS~18.3+E", 18, 3, True, True),
    ],
)
def test_parse(raw: str, major: int, minor: int, saas: bool, enterprise: bool) -> None:
    version = ServerVersion.parse(raw)
    assert (version.major, version.minor, version.saas, version.enterprise) == (
        major,
        minor,
        saas,
        enterprise,
    )
    assert str(version) == raw


@pytest.mark.parametrize("raw", ["", "master", "saas~", "v17", "~18.0"])
def test_parse_refuses_what_has_no_version(raw: str) -> None:
    with pytest.raises(ValueError, match="server_version"):
        ServerVersion.parse(raw)


def test_from_info() -> None:
    assert ServerVersion.from_info([18, 0, 0, "final", 0, "e"]) == ServerVersion(
        18, 0, False, True, "18"
    )
    saas = ServerVersion.from_info(["saas~18", 2, 0, "final", 0, ""])
    assert (saas.major, saas.minor, saas.saas, saas.enterprise) == (18, 2, True, False)
    with pytest.raises(ValueError, match="server_version_info"):
        ServerVersion.from_info([18])


@pytest.mark.parametrize(("raw", "json2"), [("17.0", False), ("saas~18.4", False), ("19.0", True)])
def test_json2_from_19(raw: str, json2: bool) -> None:
    version = ServerVersion.parse(raw)
    assert version.serves_json2 is json2
    assert version.deprecates_jsonrpc is json2
