from __future__ import annotations

from pathlib import Path

import pytest

from ferry import dotenv, topics


def test_topic_names() -> None:
    assert topics.src("shop", "orders") == "src.shop.orders"
    assert topics.sink("odoo", "sale_orders") == "sink.odoo.sale_orders"
    assert topics.dlq("src.shop.orders") == "dlq.src.shop.orders"
    assert topics.retry("sink.odoo.sale_orders") == "retry.sink.odoo.sale_orders"
    assert topics.entity_key("shop", "order", 42) == "shop:order:42"
    with pytest.raises(ValueError, match="lowercase"):
        topics.src("Shop", "orders")


def test_topic_specs_for_a_flow() -> None:
    specs = {s.name: s for s in topics.topics_for_flow("src.a.b", "sink.c.d", 3, 3)}
    assert set(specs) == {"src.a.b", "sink.c.d", "dlq.src.a.b", "dlq.sink.c.d"}
    assert specs["src.a.b"].config == {"min.insync.replicas": "2"}
    assert "retention.ms" in specs["dlq.src.a.b"].config
    assert topics.TopicSpec.for_name("ferry.x", 1, 1).config == {"cleanup.policy": "compact"}


def test_dotenv_init_once_and_load_without_override(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    assert dotenv.init(path)
    first = path.read_text(encoding="utf-8")
    assert not dotenv.init(path)
    assert path.read_text(encoding="utf-8") == first
    assert path.stat().st_mode & 0o077 == 0
    env = {"FERRY_SHOP_WEBHOOK_SECRET": "already-set"}
    values = dotenv.load_dotenv(path, env)
    assert env["FERRY_SHOP_WEBHOOK_SECRET"] == "already-set"
    assert env["FERRY_ODOO_API_KEY"] == values["FERRY_ODOO_API_KEY"]
    assert len(values["FERRY_ODOO_API_KEY"]) == 40
    assert values["SANDBOX_ODOO_API_KEY"] == values["FERRY_ODOO_API_KEY"]


def test_dotenv_init_adds_what_a_newer_ferry_needs_and_keeps_shared_values(
    tmp_path: Path,
) -> None:
    path = tmp_path / ".env"
    path.write_text("FERRY_ODOO_API_KEY=abc123\nOTHER=1\n", encoding="utf-8")
    written = dotenv.init(path)
    assert "FERRY_ODOO_API_KEY" not in written
    assert "SANDBOX_ODOO_API_KEY" in written
    values = dotenv.load_dotenv(path, {})
    assert values["FERRY_ODOO_API_KEY"] == "abc123"
    assert values["SANDBOX_ODOO_API_KEY"] == "abc123"  # one key, both sides
    assert values["OTHER"] == "1"
    assert values["FERRY_SHOP_WEBHOOK_SECRET"]
    assert dotenv.init(path) == []
