from __future__ import annotations

import ferry.odoo


def test_all_is_honest() -> None:
    exported = set(ferry.odoo.__all__)
    public = {name for name in vars(ferry.odoo) if not name.startswith("_")}
    modules = {"client", "errors", "protocols", "settings", "version"}
    assert public - modules == exported
    for name in exported:
        member = getattr(ferry.odoo, name)
        if isinstance(member, type):
            assert member.__module__.startswith("ferry.odoo")
