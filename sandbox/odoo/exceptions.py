"""Odoo's exception classes, named as Odoo names them on the wire (``odoo.exceptions.X``)."""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """Base of the errors a user can act on; their message travels as is."""

    __module__ = "odoo.exceptions"
    http_code = 422

    def __init__(self, message: str) -> None:
        super().__init__(message)


class RedirectWarning(Exception):
    __module__ = "odoo.exceptions"
    http_code = 422

    def __init__(self, message: str, action: Any = None, button_text: str = "") -> None:
        super().__init__(message, action, button_text)


class AccessDenied(UserError):
    __module__ = "odoo.exceptions"
    http_code = 403

    def __init__(self, message: str = "Access Denied") -> None:
        super().__init__(message)


class AccessError(UserError):
    __module__ = "odoo.exceptions"
    http_code = 403


class MissingError(UserError):
    __module__ = "odoo.exceptions"
    http_code = 404


class ValidationError(UserError):
    __module__ = "odoo.exceptions"


class SerializationFailure(Exception):
    """What PostgreSQL raises when a REPEATABLE READ transaction loses a race."""

    __module__ = "psycopg2.errors"

    def __init__(self, message: str = "could not serialize access due to concurrent update\n"):
        super().__init__(message)


class OperationalError(Exception):
    __module__ = "psycopg2"


def qualified_name(exc: BaseException) -> str:
    """``module.ClassName`` as Odoo's ``serialize_exception`` spells it."""
    cls = type(exc)
    return f"{cls.__module__}.{cls.__name__}"


def message_of(exc: BaseException) -> str:
    if isinstance(exc, UserError | RedirectWarning) and exc.args:
        return str(exc.args[0])
    return str(exc)
