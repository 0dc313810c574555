"""``ferry shop``: send what a shop sends, read what the shop holds, order in the sandbox shop.

- ``send-sample``: signed sample orders to the webhook gateway;
- ``show SKU…``: each SKU's available level and price, through the shop's Admin API;
- ``order SKU=QTY…``: an order placed in the sandbox shop, which sends its webhook.
"""

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


@shop.command("show")
@click.argument("skus", nargs=-1, required=True)
@config_option
def show(skus: tuple[str, ...], config_path: str | None) -> None:
    """Print each SKU's available level (at the configured location) and price."""
    from consumers.shop.target import ShopTarget
    from ferry.errors import FerryError
    from producers.shop.system import SHOP

    registry = load_registry(config_path)

    async def read() -> list[str]:
        try:
            target = ShopTarget.connect(registry.system_settings(SHOP), None)
        except ConfigError as exc:
            raise ConfigProblem(exc) from None
        try:
            location = await target.location_id()
            lines = []
            for sku in skus:
                variant = await target.client.variant_by_sku(sku)
                if variant is None:
                    lines.append(f"{sku}: no variant with this SKU in the shop")
                    continue
                level = await target.client.available(variant.inventory_item_id, location)
                lines.append(f"{sku}: available {level}, price {variant.price.normalize():f}")
            return lines
        finally:
            await target.aclose()

    try:
        lines = asyncio.run(read())
    except FerryError as exc:
        raise click.ClickException(f"shop: {exc}") from None
    for line in lines:
        click.echo(line)


@shop.command("order")
@click.argument("lines", nargs=-1, required=True, metavar="SKU=QTY...")
@click.option("--email", default="customer@example.com", show_default=True)
@config_option
def order(lines: tuple[str, ...], email: str, config_path: str | None) -> None:
    """Place an order in the sandbox shop (it sends Shopify's signed orders/create webhook)."""
    import httpx

    from producers.shop.system import SHOP

    registry = load_registry(config_path)
    items = []
    for line in lines:
        sku, sep, quantity = line.partition("=")
        if not sep or not sku or not quantity.isdigit() or int(quantity) < 1:
            raise click.BadParameter(f"{line!r}: expected SKU=QUANTITY, e.g. SKU-003=2")
        items.append({"sku": sku, "quantity": int(quantity)})
    url = registry.system_settings(SHOP).url.rstrip("/")
    try:
        answer = httpx.post(
            f"{url}/__sandbox__/orders", json={"line_items": items, "email": email}, timeout=10
        )
    except httpx.HTTPError as exc:
        raise click.ClickException(f"the sandbox shop at {url} did not answer: {exc}") from None
    if answer.status_code != 201:
        raise click.ClickException(f"the sandbox shop refused the order: {answer.text}")
    placed = answer.json()["order"]
    click.echo(f"order {placed['name']} (id {placed['id']}) placed; webhook sent to the gateway")


def register(cli: click.Group) -> None:
    cli.add_command(shop)
