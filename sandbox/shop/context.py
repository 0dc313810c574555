"""What resolvers see as ``info.context``: the emulator, through this narrow interface."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeAlias

from graphql import GraphQLResolveInfo

from .orders import Orders
from .store import Store


@dataclass(frozen=True)
class ProductRef:
    """A ``Product`` as resolvers pass it on."""

    id: int
    title: str


class ShopContext(Protocol):
    store: Store
    orders: Orders

    def now(self) -> datetime: ...

    def location_id(self) -> int: ...


Info: TypeAlias = GraphQLResolveInfo[ShopContext]
