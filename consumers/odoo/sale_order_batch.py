"""The bulk steps under the Odoo sink's batches: few calls for many records.

- :func:`rounds` splits a batch so that no round holds two commands of one key (they keep
  their order: round after round);
- :func:`each` makes one call for many items and, when Odoo refuses it (it rolled the whole
  call back), bisects it until the refused item is alone;
- :func:`create_with_xmlids` creates many records and registers their external ids in two
  calls, with :meth:`~ferry.odoo.OdooClient.create_with_xmlid`'s answer to a writer that
  registered a name first.

Why the sink batches this way: ``docs/odoo-sink.md``, "The batch path".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from ferry.errors import FerryError, PermanentError, TransientError
from ferry.odoo import OdooClient
from ferry.odoo.client import ExternalIdWinner

__all__ = ["create_records", "create_with_xmlids", "each", "halves", "register_xmlids", "rounds"]

T = TypeVar("T")
R = TypeVar("R")

Call = Callable[[Sequence[T]], Awaitable[Sequence[R]]]
Created = ExternalIdWinner | FerryError


def rounds(keys: Sequence[str]) -> list[list[int]]:
    """The positions of ``keys`` in rounds: round ``k`` holds the ``k``-th occurrence of every
    key, in their order."""
    out: list[list[int]] = []
    seen: dict[str, int] = {}
    for position, key in enumerate(keys):
        k = seen.get(key, 0)
        seen[key] = k + 1
        if k == len(out):
            out.append([])
        out[k].append(position)
    return out


async def each(items: Sequence[T], call: Call[T, R]) -> list[R | FerryError]:
    """``call(items)``, one call for all: its results, one per item. A ``PermanentError`` is
    narrowed down by :func:`halves` to the items it belongs to; a ``TransientError`` is the
    result of every item of the call that met it."""
    if not items:
        return []
    try:
        return list(await call(items))
    except TransientError as exc:
        return [exc for _ in items]
    except PermanentError as exc:
        if len(items) == 1:
            return [exc]
        return await halves(items, call)


async def halves(items: Sequence[T], call: Call[T, R]) -> list[R | FerryError]:
    """:func:`each` of the first half, then of the second."""
    half = len(items) // 2
    return [*await each(items[:half], call), *await each(items[half:], call)]


async def create_records(
    odoo: OdooClient, model: str, vals_list: Sequence[Mapping[str, Any]]
) -> list[int]:
    """The records of ``vals_list`` in one call; one record goes as Odoo's single create."""
    if len(vals_list) == 1:
        return [await odoo.create(model, vals_list[0])]
    return await odoo.create(model, list(vals_list))


async def create_with_xmlids(
    odoo: OdooClient, model: str, module: str, items: Sequence[tuple[str, Mapping[str, Any]]]
) -> list[Created]:
    """A ``model`` record for every ``(name, vals)`` and its external id ``module.name``: one
    ``create`` and one ``ir.model.data`` create whatever their number. One result per item:
    where ``module.name`` points (``ours`` unless another writer registered it first), or the
    error this item met. Not one transaction (see ``OdooClient.upsert_by_xmlid``)."""

    async def create(chunk: Sequence[tuple[str, Mapping[str, Any]]]) -> list[int]:
        return await create_records(odoo, model, [vals for _, vals in chunk])

    created = await each(items, create)
    results: dict[int, Created] = {}
    links: list[tuple[str, int]] = []
    linked: list[int] = []
    for position, ((name, _), res_id) in enumerate(zip(items, created, strict=True)):
        if isinstance(res_id, FerryError):
            results[position] = res_id
        else:
            links.append((name, res_id))
            linked.append(position)
    registered = await register_xmlids(odoo, model, module, links)
    results.update(zip(linked, registered, strict=True))
    return [results[position] for position in range(len(items))]


async def register_xmlids(
    odoo: OdooClient, model: str, module: str, links: Sequence[tuple[str, int]]
) -> list[Created]:
    """``module.name`` → ``model(res_id)`` for every ``(name, res_id)``, in one call. When
    Odoo refuses it, the names another writer registered first keep their record (ours is
    unlinked), and the others are registered again, halved until the refused one is alone."""
    if not links:
        return []
    try:
        return list(await _register(odoo, model, module, links))
    except TransientError as exc:
        return [exc for _ in links]
    except PermanentError as exc:
        return await _after_refusal(odoo, model, module, links, exc)


async def _register(
    odoo: OdooClient, model: str, module: str, links: Sequence[tuple[str, int]]
) -> list[ExternalIdWinner]:
    rows = [
        {"module": module, "name": name, "model": model, "res_id": res_id} for name, res_id in links
    ]
    await create_records(odoo, "ir.model.data", rows)
    return [ExternalIdWinner(res_id=res_id, orphan=None) for _, res_id in links]


async def _after_refusal(
    odoo: OdooClient,
    model: str,
    module: str,
    links: Sequence[tuple[str, int]],
    refusal: PermanentError,
) -> list[Created]:
    winners = await odoo.xmlid_lookup_many(module, [name for name, _ in links])
    results: dict[int, Created] = {}
    orphans: list[int] = []
    again: list[int] = []
    for position, (name, res_id) in enumerate(links):
        winner = winners.get(name)
        if winner is None:
            again.append(position)
        elif winner.model != model:
            results[position] = refusal
        elif winner.res_id == res_id:  # another writer adopted our record: it is the winner
            results[position] = ExternalIdWinner(res_id=res_id, orphan=None)
        else:
            results[position] = ExternalIdWinner(res_id=winner.res_id, orphan=res_id)
            orphans.append(position)
    results.update(await _unlink_orphans(odoo, model, links, orphans, results))
    results.update(await _register_again(odoo, model, module, links, again, refusal))
    return [results[position] for position in range(len(links))]


async def _unlink_orphans(
    odoo: OdooClient,
    model: str,
    links: Sequence[tuple[str, int]],
    orphans: Sequence[int],
    results: Mapping[int, Created],
) -> dict[int, Created]:
    """Our records whose names another writer registered first, removed in one call."""
    if not orphans:
        return {}
    try:
        await odoo.unlink(model, [links[position][1] for position in orphans])
    except (TransientError, PermanentError) as exc:
        return dict.fromkeys(orphans, exc)
    return {position: results[position] for position in orphans}


async def _register_again(
    odoo: OdooClient,
    model: str,
    module: str,
    links: Sequence[tuple[str, int]],
    again: Sequence[int],
    refusal: PermanentError,
) -> dict[int, Created]:
    """The links no other writer took: registered again (the refused one alone, at last)."""
    if not again:
        return {}

    async def register(chunk: Sequence[tuple[str, int]]) -> list[ExternalIdWinner]:
        return await _register(odoo, model, module, chunk)

    rest = [links[position] for position in again]
    if len(again) < len(links):
        retried = await each(rest, register)
    elif len(rest) == 1:  # not a race: the refusal is this link's own
        retried = [refusal]
    else:
        retried = await halves(rest, register)
    return dict(zip(again, retried, strict=True))
