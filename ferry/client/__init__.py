"""The publish API's SDK: :class:`FerryClient` (sync) and :class:`AsyncFerryClient` (asyncio).

Both build the same requests and read the same answers (one core, two transports): one event
in structured mode, a batch in batch mode (``docs/publish.md``). A 429, a 503 or a connection
error is tried again, after the ``Retry-After`` the gateway sent or a jittered backoff, with the
same body and the same idempotency key each time, so a retry never publishes twice. Other
refusals raise :class:`PublishError` with the gateway's field and rule. The app key never
appears in an error or a repr.

    with FerryClient("http://127.0.0.1:8080", key) as client:
        client.publish("crm.contact.created", contact)
"""

from __future__ import annotations

from ferry.client._clients import AsyncFerryClient, FerryClient
from ferry.client._core import BatchPublished, Event, EventResult, Published, PublishError

__all__ = [
    "AsyncFerryClient",
    "BatchPublished",
    "Event",
    "EventResult",
    "FerryClient",
    "PublishError",
    "Published",
]
