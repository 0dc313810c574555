"""The generic modules know no flow: not the shop's orders, not a test's parcels."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
GENERIC = [
    *sorted((ROOT / "ferry").rglob("*.py")),
    *(
        ROOT / "streams" / n
        for n in ("app.py", "stage.py", "processor.py", "window.py", "worker.py")
    ),
    ROOT / "consumers" / "runner.py",
    ROOT / "consumers" / "service.py",
    *sorted((ROOT / "producers" / "gateway").glob("*.py")),
]
# A shop, its orders, a sale order; "order" alone is also Odoo's sort order, so it is allowed.
FLOW_WORDS = re.compile(
    r"\bshops?\b|sale[ ._]?orders?|\borders\b|order_id|parcel|ledger|carrier", re.I
)


@pytest.mark.parametrize("path", GENERIC, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_generic_module_names_no_flow(path: Path) -> None:
    found = [
        f"{n}: {line.strip()}"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if FLOW_WORDS.search(line)
    ]
    assert not found, f"{path.relative_to(ROOT)} names a flow:\n" + "\n".join(found)


def test_only_the_test_registry_knows_the_test_flow() -> None:
    for folder in ("ferry", "producers", "streams", "consumers", "sandbox", "infra"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for name in ("tests.flows", "parcels-to-ledger", "carrier.parcel", "ledger.parcel"):
                assert name not in text, f"{path} names {name}"
