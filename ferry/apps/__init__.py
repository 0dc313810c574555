"""Connected apps: who may publish which event types, with which keys (``ferry apps``).

- :mod:`ferry.apps.keys`: keys ``fy_<app>_<random>`` and their peppered hashes.
- :mod:`ferry.apps.model`: :class:`App` and :class:`KeyHash`, the JSON of their records.
- :mod:`ferry.apps.pepper`: the pepper, from ``apps.pepper``.
- :mod:`ferry.apps.topic`: the compacted topic ``apps.topic``.
- :mod:`ferry.apps.directory`: :class:`AppDirectory`, every gateway's view (authenticate).
- :mod:`ferry.apps.admin`: :class:`AppAdmin`, the changes ``ferry apps`` makes.
"""

from ferry.apps.admin import AppAdmin, AppError
from ferry.apps.directory import AppDirectory
from ferry.apps.keys import app_of, check_name, key_hash, new_key
from ferry.apps.model import App, KeyHash
from ferry.apps.pepper import resolve_pepper
from ferry.apps.topic import apps_topic

__all__ = [
    "App",
    "AppAdmin",
    "AppDirectory",
    "AppError",
    "KeyHash",
    "app_of",
    "apps_topic",
    "check_name",
    "key_hash",
    "new_key",
    "resolve_pepper",
]
