"""Polling for a condition with a deadline, for tests of asynchronous flows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def eventually(
    check: Callable[[], bool], *, timeout_s: float = 90.0, interval_s: float = 0.25, what: str = ""
) -> None:
    """Return once ``check()`` is true; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    for _ in range(int(timeout_s / interval_s) + 1):
        if check():
            return
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(interval_s)
    if not check():
        raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what or 'it'}")
