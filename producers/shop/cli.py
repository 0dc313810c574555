"""``ferry shop send-sample``: signed sample orders to the webhook gateway."""

from __future__ import annotations

import asyncio

import click

from ferry.cli.config import ConfigProblem, config_option, load_registry
from ferry.errors import ConfigError
from ferry.registry import GATEWAY


@click.group("shop")
def shop() -> None:
    """The web shop side: send what a shop would send."""


@shop.command("send-sample")
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--url", default=None, help="Webhook URL [default: the configured gateway's]")
@click.option(
    "--invalid",
    is_flag=True,
    help="Orders that decode but break a content rule: the stream stage dead-letters them.",
)
@config_option
def send_sample(count: int, url: str | None, invalid: bool, config_path: str | None) -> None:
    """POST signed sample orders (SKU-001..SKU-005) and print each answer."""
    from producers.shop.sample import send_samples
    from producers.shop.system import SHOP
    from producers.shop.webhook import WEBHOOK_PATH

    registry = load_registry(config_path)
    try:
        secret = registry.secret(SHOP, "webhook_secret")
    except ConfigError as exc:
        raise ConfigProblem(exc) from None
    if url is None:
        gateway = registry.service(GATEWAY)
        host = "127.0.0.1" if gateway.host in ("0.0.0.0", "::") else gateway.host
        url = f"http://{host}:{gateway.port}{WEBHOOK_PATH}"
    results = asyncio.run(send_samples(url, secret, count=count, invalid=invalid))
    for result in results:
        what = f" ({result.invalid})" if result.invalid else ""
        if result.accepted:
            click.echo(f"order {result.order_id}{what}: {result.status} ce_id={result.ce_id}")
        else:
            status = result.status or "no answer"
            click.echo(f"order {result.order_id}{what}: {status} {result.error}", err=True)
    if not all(r.accepted for r in results):
        raise SystemExit(1)


def register(cli: click.Group) -> None:
    cli.add_command(shop)
