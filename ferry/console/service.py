"""The console as a service: resolve the token, serve until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path

from ferry.registry import CONSOLE, Registry
from ferry.service import serve_until, until_signalled

from .app import create_app
from .auth import resolve_token
from .sources import LiveSources

__all__ = ["run_console", "run_until_signalled"]

log = logging.getLogger(__name__)


async def run_console(
    registry: Registry,
    state_dir: Path,
    *,
    host: str | None = None,
    port: int | None = None,
    environ: Mapping[str, str] | None = None,
    stop: asyncio.Event | None = None,
    started: asyncio.Event | None = None,
) -> None:
    """Serve the console until ``stop`` is set (or the task is cancelled).

    Raises :class:`~ferry.errors.ConfigError` when the operator token cannot be read.
    """
    token = resolve_token(registry.settings.console, environ)
    app = create_app(registry, LiveSources(registry, state_dir), token)
    settings = registry.service(CONSOLE)
    bind_host = host or settings.host
    bind_port = settings.port if port is None else port
    stop = stop or asyncio.Event()
    log.info("console listening on http://%s:%d/", bind_host, bind_port)
    try:
        await serve_until(stop, app, bind_host, bind_port, started=started)
    finally:
        log.info("console stopped")


async def run_until_signalled(
    registry: Registry, state_dir: Path, *, host: str | None, port: int | None
) -> None:
    """:func:`run_console` until SIGINT or SIGTERM."""

    async def run(stop: asyncio.Event) -> None:
        await run_console(registry, state_dir, host=host, port=port, stop=stop)

    await until_signalled(run)
