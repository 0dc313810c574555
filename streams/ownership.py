"""The ownership guard: one system owns each kind of data; others may not change it.

``Settings.ownership`` maps each entity to the system that owns it (its source of truth). A
change of entity ``E``, stated by system ``S`` and written into system ``T``, is allowed when

1. ``S`` owns ``E`` (the owner spreads its own data), or
2. ``T`` owns ``E`` and a configured flow grants ``S`` to originate ``E`` there: the
   ``shop-orders-to-odoo`` flow lets the shop create sale orders in Odoo, which owns them
   from then on.

Anything else is an :class:`~ferry.errors.OwnershipViolation`: the shop writing ``product``
data into Odoo, a system writing an entity nobody owns (not in the map), a flow writing into a
system that does not own what it writes. This is a first form: it guards whole entities, not
single fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ferry.errors import OwnershipViolation
from ferry.settings import FlowSettings, Settings

__all__ = ["Grant", "OwnershipGuard", "grant_of_flow", "system_of_topic"]

NO_OWNER = "nobody (not in the ownership map)"


@dataclass(frozen=True, slots=True)
class Grant:
    """``source`` may write ``entity`` into ``target`` (which must own it)."""

    source: str
    entity: str
    target: str


def system_of_topic(topic: str) -> str:
    """The system a ``src.<system>.*`` or ``sink.<system>.*`` topic belongs to."""
    parts = topic.split(".")
    if len(parts) < 3 or parts[0] not in ("src", "sink") or not parts[1]:
        raise ValueError(f"{topic!r}: expected src.<system>.<stream> or sink.<system>.<entity>")
    return parts[1]


def grant_of_flow(flow: FlowSettings, entity: str) -> Grant:
    """What a flow from ``src.<S>.*`` to ``sink.<T>.*`` writing ``entity`` is granted."""
    return Grant(system_of_topic(flow.source), entity, system_of_topic(flow.target))


class OwnershipGuard:
    """Decides whether a system may change an entity in another system."""

    def __init__(self, owners: Mapping[str, str], grants: Iterable[Grant] = ()) -> None:
        self._owners = dict(owners)
        self._grants = frozenset(grants)

    @classmethod
    def from_settings(
        cls, settings: Settings, entity_of_mapping: Mapping[str, str]
    ) -> OwnershipGuard:
        """The ownership map of ``settings``, with a grant for each configured flow.

        ``entity_of_mapping`` names the entity each mapping writes; flows whose mapping it does
        not know grant nothing.
        """
        grants = [
            grant_of_flow(flow, entity_of_mapping[flow.mapping])
            for flow in settings.flows
            if flow.mapping in entity_of_mapping
        ]
        return cls(settings.ownership, grants)

    def owner(self, entity: str) -> str | None:
        return self._owners.get(entity)

    def allows(self, *, source: str, entity: str, target: str) -> bool:
        owner = self._owners.get(entity)
        if owner is None:
            return False
        if source == owner:
            return True
        return target == owner and Grant(source, entity, target) in self._grants

    def check(self, *, source: str, entity: str, target: str) -> None:
        """Raise :class:`OwnershipViolation` unless ``source`` may write ``entity`` there."""
        if not self.allows(source=source, entity=entity, target=target):
            raise OwnershipViolation(source, entity, self._owners.get(entity, NO_OWNER))
