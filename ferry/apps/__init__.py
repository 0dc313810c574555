"""Connected apps: who may publish which event types, with which keys (``ferry apps``)."""

from ferry.apps.admin import AppAdmin, AppError, apps_topic, resolve_pepper
from ferry.apps.directory import AppDirectory
from ferry.apps.keys import app_of, check_name, key_hash, new_key
from ferry.apps.model import App, KeyHash

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
