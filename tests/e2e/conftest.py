from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.odoo_rpc import OdooReader
from tests.support.platform import Platform, running_platform


@pytest.fixture(scope="session")
def platform(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    state: Path = tmp_path_factory.mktemp("platform")
    with running_platform(kafka_bootstrap, state) as running:
        yield running


@pytest.fixture(scope="session")
def odoo(platform: Platform) -> Iterator[OdooReader]:
    reader = OdooReader(platform.odoo_url, platform.odoo_api_key)
    yield reader
    reader.close()
