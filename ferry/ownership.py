"""The ownership guard: one system owns each kind of data; others may not change it.

The owners come from the flows' declarations, overridden by ``ownership`` in ``ferry.yaml``
(:attr:`ferry.registry.Registry.ownership`). A change of entity ``E``, stated by system ``S``
and written into system ``T``, is allowed when ``S`` owns ``E`` (the owner spreads its own
data), or ``T`` owns ``E`` and a flow grants ``S`` to originate ``E`` there (a connected app
creates records in the system that owns them from then on). Anything else is an
:class:`~ferry.errors.OwnershipViolation`. It guards whole entities, not single fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ferry.errors import OwnershipViolation
from ferry.flow import Flow

__all__ = ["Grant", "OwnershipGuard", "grant_of_flow"]

NO_OWNER = "nobody (not in the ownership map)"


@dataclass(frozen=True, slots=True)
class Grant:
    """``source`` may write ``entity`` into ``target`` (which must own it)."""

    source: str
    entity: str
    target: str


def grant_of_flow(flow: Flow) -> Grant:
    """What a flow from system ``S`` to system ``T`` writing its entity is granted."""
    return Grant(flow.source.system.name, flow.entity, flow.target.system.name)


class OwnershipGuard:
    """Decides whether a system may change an entity in another system."""

    def __init__(self, owners: Mapping[str, str], grants: Iterable[Grant] = ()) -> None:
        self._owners = dict(owners)
        self._grants = frozenset(grants)

    @classmethod
    def of_flows(cls, owners: Mapping[str, str], flows: Iterable[Flow]) -> OwnershipGuard:
        """``owners`` with a grant for each of ``flows``."""
        return cls(owners, [grant_of_flow(flow) for flow in flows])

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
