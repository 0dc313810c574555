"""Outgoing webhooks as Shopify sends them: a JSON body signed with the app's client secret
(``X-Shopify-Hmac-Sha256``: base64 of HMAC-SHA256 over the raw body) and the ``X-Shopify-*``
headers. A delivery that is not answered 2xx within 5 s is retried in the background with the
same body, webhook id and event id, after each of ``retry_delays_s`` in turn (Shopify: 8
retries over 4 hours), then marked failed. Deliveries are kept in the store, so pending ones
resume after a restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import httpx

from .store import Delivery, Store

_logger = logging.getLogger(__name__)
TIMEOUT_S = 5.0
RETRY_DELAYS_S: tuple[float, ...] = (5.0, 15.0, 60.0, 180.0, 600.0, 1800.0, 3600.0, 7200.0)
USER_AGENT = "Shopify-Captain-Hook"


def sign(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def triggered_at(moment: datetime) -> str:
    """``2026-10-05T10:31:42.123456000Z``: UTC, nanosecond digits as Shopify writes them."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


class WebhookSender:
    def __init__(
        self,
        store: Store,
        secret: Callable[[], str],
        *,
        shop_domain: str,
        api_version: str,
        url: str | None = None,
        retry_delays_s: Sequence[float] = RETRY_DELAYS_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.url = url
        self.retry_delays_s = tuple(retry_delays_s)
        self._secret = secret
        self._shop_domain = shop_domain
        self._api_version = api_version
        self._clock = clock
        self._wake = threading.Condition()
        self._stopped = False
        self._woken = False  # set by wake(): a delivery was queued since the last look
        self._thread: threading.Thread | None = None

    def headers(self, delivery: Delivery) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Shopify-Topic": delivery.topic,
            "X-Shopify-Hmac-Sha256": sign(self._secret(), delivery.body),
            "X-Shopify-Shop-Domain": self._shop_domain,
            "X-Shopify-API-Version": self._api_version,
            "X-Shopify-Webhook-Id": delivery.webhook_id,
            "X-Shopify-Event-Id": delivery.event_id,
            "X-Shopify-Triggered-At": delivery.triggered_at,
        }

    def enqueue(self, topic: str, payload: dict[str, Any], moment: datetime) -> Delivery | None:
        """Queue a delivery to the configured URL (none without one) and wake the sender."""
        if not self.url:
            return None
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        delivery = Delivery(
            webhook_id=str(uuid.uuid4()),
            event_id=str(uuid.uuid4()),
            topic=topic,
            url=self.url,
            body=body,
            triggered_at=triggered_at(moment),
            attempts=0,
            state="pending",
            last_status=None,
            last_error=None,
            next_at=self._clock(),
        )
        self.store.add_delivery(delivery)
        self.wake()
        return delivery

    # -- the background sender ------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="shop-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=TIMEOUT_S + 5)
            self._thread = None

    def wake(self) -> None:
        with self._wake:
            self._woken = True
            self._wake.notify_all()

    def _should_stop(self) -> bool:
        return self._stopped

    def _run(self) -> None:
        with httpx.Client(timeout=httpx.Timeout(TIMEOUT_S, connect=1.0)) as client:
            while not self._should_stop():
                with self._wake:
                    self._woken = False
                pending = self.store.deliveries("pending")
                now = self._clock()
                for delivery in pending:
                    if self._should_stop():
                        return
                    if delivery.next_at <= now:
                        self._attempt(client, delivery)
                pending = self.store.deliveries("pending")
                wait = min((d.next_at for d in pending), default=now + 60.0) - self._clock()
                with self._wake:
                    if not self._woken and not self._should_stop() and wait > 0:
                        self._wake.wait(timeout=min(wait, 60.0))

    def _attempt(self, client: httpx.Client, delivery: Delivery) -> None:
        status: int | None = None
        error: str | None = None
        try:
            response = client.post(
                delivery.url, content=delivery.body, headers=self.headers(delivery)
            )
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        attempts = delivery.attempts + 1
        if status is not None and 200 <= status < 300:
            state, next_at = "delivered", 0.0
        elif attempts <= len(self.retry_delays_s):
            state, next_at = "pending", self._clock() + self.retry_delays_s[attempts - 1]
            _logger.info(
                "Webhook %s: attempt %d failed (%s)", delivery.webhook_id, attempts, status or error
            )
        else:
            state, next_at = "failed", 0.0
            _logger.warning("Webhook %s failed after %d attempts", delivery.webhook_id, attempts)
        self.store.update_delivery(
            delivery.webhook_id,
            attempts=attempts,
            state=state,
            last_status=status,
            last_error=error,
            next_at=next_at,
        )
