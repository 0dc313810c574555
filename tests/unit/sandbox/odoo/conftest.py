from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from sandbox.odoo.models import ALL_MODELS
from sandbox.odoo.orm.model import Env
from sandbox.odoo.orm.registry import Registry
from sandbox.odoo.seed import ADMIN_UID, SUPERUSER_ID, seed
from sandbox.odoo.store import Store

T = TypeVar("T")


class Db:
    """A seeded in-memory registry; ``run`` executes one transaction as admin."""

    def __init__(self, version: str = "18.0") -> None:
        self.failures = 0
        self.registry = Registry(ALL_MODELS, Store(), version, self._fail)
        self.registry.run(SUPERUSER_ID, {}, seed)

    def _fail(self) -> bool:
        if self.failures:
            self.failures -= 1
            return True
        return False

    def run(self, func: Callable[[Env], T], context: dict[str, Any] | None = None) -> T:
        return self.registry.run(ADMIN_UID, context or {}, func)


@pytest.fixture
def db() -> Db:
    return Db()


@pytest.fixture
def db17() -> Db:
    return Db("17.0")
