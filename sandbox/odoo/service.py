"""The RPC services behind every transport: ``common``, ``object``, ``db``.

``object`` calls check credentials, then run ``call_kw`` in one transaction.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .exceptions import AccessError, OperationalError, UserError
from .orm.model import BaseModel, Env, public_method

if TYPE_CHECKING:
    from .emulator import OdooEmulator


def version_info(version: str) -> dict[str, Any]:
    major, _, minor = version.partition(".")
    return {
        "server_version": version,
        "server_version_info": [int(major), int(minor or 0), 0, "final", 0, ""],
        "server_serie": version,
        "protocol_version": 1,
    }


def resolve_method(env: Env, model_name: str, method: str) -> tuple[BaseModel, Any]:
    """Odoo's ``get_public_method`` (18+) / ``check_method_name`` + ``call_kw`` (17)."""
    major = env.major
    if major < 18 and method.startswith("_"):
        raise AccessError(f"Private methods (such as {method}) cannot be called remotely.")
    if model_name not in env:
        raise UserError(f"Object {model_name} doesn't exist")
    model = env[model_name]
    if method.startswith("_"):
        raise AccessError(
            f"Private methods (such as '{model_name}.{method}') cannot be called remotely."
        )
    func = public_method(model, method)
    if func is None:
        if major >= 18:
            raise AttributeError(f"The method '{model_name}.{method}' does not exist")
        raise AttributeError(f"The method '{method}' does not exist on the model '{model_name}'")
    return model, func


def call_kw(env: Env, model_name: str, method: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    kwargs = dict(kwargs or {})
    kwargs.pop("context", None)
    _model, func = resolve_method(env, model_name, method)
    if getattr(func, "_rpc", None) == "model":
        return func(*args, **kwargs)
    if not args:
        raise TypeError(f"{model_name}.{method}() missing 1 required positional argument: 'ids'")
    return func(*args, **kwargs)


def api_kind(func: Any) -> str:
    return str(getattr(func, "_rpc", ""))


def method_parameters(func: Any) -> list[inspect.Parameter]:
    params = list(inspect.signature(func).parameters.values())
    if api_kind(func) == "records" and params and params[0].name == "ids":
        params = params[1:]
    return params


class Services:
    def __init__(self, emulator: OdooEmulator) -> None:
        self.emulator = emulator

    def dispatch(self, service: str, method: str, params: list[Any], ip: str) -> Any:
        if service == "common":
            return self._common(method, params, ip)
        if service == "object":
            return self._object(method, params, ip)
        if service == "db":
            return self._db(method, params)
        raise Exception(f"No such service: {service!r}")

    def _check_db(self, db: object) -> None:
        if db != self.emulator.config.database:
            raise OperationalError(
                'connection to server at "localhost" (127.0.0.1), port 5432 failed: '
                f'FATAL:  database "{db}" does not exist\n'
            )

    def _common(self, method: str, params: list[Any], ip: str) -> Any:
        emulator = self.emulator
        if method == "version":
            return version_info(emulator.config.version)
        if method == "about":
            return "See http://openerp.com"
        if method in ("login", "authenticate"):
            if method == "login":
                db, login, password = params
            else:
                db, login, password, _user_agent_env = params
            self._check_db(db)
            try:
                return emulator.auth.authenticate(login, password, ip)
            except UserError:
                return False
        raise Exception(f"Method not found: {method}")

    def _db(self, method: str, params: list[Any]) -> Any:
        if method == "list":
            return [self.emulator.config.database]
        if method == "server_version":
            return self.emulator.config.version
        if method == "db_exist":
            return params[0] == self.emulator.config.database
        raise Exception(f"Method not found: {method}")

    def _object(self, method: str, params: list[Any], ip: str) -> Any:
        if method == "execute":
            db, uid, password, model, name, *args = params
            kwargs: dict[str, Any] = {}
        elif method == "execute_kw":
            db, uid, password, model, name, args, *rest = params
            kwargs = dict(rest[0] or {}) if rest else {}
            if not isinstance(args, list):
                args = list(args)
        else:
            raise NameError(f"Method not available {method}")
        self._check_db(db)
        uid = self.emulator.auth.check(uid, password, ip)
        return self.call(uid, str(model), str(name), list(args), kwargs)

    def call(
        self, uid: int, model: str, method: str, args: list[Any], kwargs: dict[str, Any]
    ) -> Any:
        context = kwargs.get("context") or {}
        if not isinstance(context, Mapping):
            raise ValueError(f"context must be a dictionary, got {context!r}")
        slow = self.emulator.faults.take_slow_call(model, method)
        if slow:
            time.sleep(slow)  # a worker thread: other requests go on meanwhile
        return self.emulator.registry.run(
            uid, dict(context), lambda env: call_kw(env, model, method, args, kwargs)
        )
