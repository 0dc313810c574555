"""The base of Ferry's API clients: an ``httpx.AsyncClient`` given, or owned and closed."""

from __future__ import annotations

from types import TracebackType
from typing import Self

import httpx

__all__ = ["HttpClientBase"]


class HttpClientBase:
    """Holds ``self._http``: the client given (left open), or one made here from ``timeout``
    (seconds, connect at most 10 s) and ``limits``, closed by :meth:`aclose`."""

    def __init__(
        self,
        http: httpx.AsyncClient | None,
        *,
        timeout: float | httpx.Timeout,
        limits: httpx.Limits,
    ) -> None:
        self._owns_http = http is None
        if http is None:
            if not isinstance(timeout, httpx.Timeout):
                timeout = httpx.Timeout(timeout, connect=min(10.0, timeout))
            http = httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=False)
        self._http = http

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
