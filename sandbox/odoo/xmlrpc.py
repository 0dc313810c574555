"""XML-RPC at ``/xmlrpc/2/<service>`` (integer fault codes) and the legacy ``/xmlrpc/<service>``
(string fault codes), as in Odoo's ``addons/base/controllers/rpc.py``."""

from __future__ import annotations

import datetime as dt
import traceback
import xmlrpc.client
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from .exceptions import AccessDenied, AccessError, MissingError, RedirectWarning, UserError
from .jsonrpc import client_ip

FAULT_APPLICATION_ERROR = 1
FAULT_WARNING = 2
FAULT_ACCESS_DENIED = 3
FAULT_ACCESS_ERROR = 4
CONTROL_CHARACTERS = dict.fromkeys(set(range(32)) - {9, 10, 13})
MAXINT = 2**31 - 1


class OdooMarshaller(xmlrpc.client.Marshaller):
    """Datetimes and dates as strings, control characters dropped, big ints as doubles."""

    dispatch: dict[Any, Any] = dict(xmlrpc.client.Marshaller.dispatch)

    def dump_datetime(self, value: Any, write: Callable[[str], Any]) -> None:
        self.dump_unicode(value.strftime("%Y-%m-%d %H:%M:%S"), write)

    def dump_date(self, value: Any, write: Callable[[str], Any]) -> None:
        self.dump_unicode(value.strftime("%Y-%m-%d"), write)

    def dump_unicode(self, value: Any, write: Callable[[str], Any], escape: Any = None) -> None:
        super().dump_unicode(value.translate(CONTROL_CHARACTERS), write)

    def dump_long(self, value: Any, write: Callable[[str], Any]) -> None:
        if -MAXINT - 1 <= value <= MAXINT:
            super().dump_long(value, write)
        else:
            self.dump_double(float(value), write)

    dispatch[dt.datetime] = dump_datetime
    dispatch[dt.date] = dump_date
    dispatch[str] = dump_unicode
    dispatch[int] = dump_long


def dumps(params: tuple[Any, ...] | xmlrpc.client.Fault) -> str:
    body = OdooMarshaller(allow_none=False).dumps(params)
    return f'<?xml version="1.0"?>\n<methodResponse>\n{body}\n</methodResponse>\n'


def fault_int(exc: BaseException) -> xmlrpc.client.Fault:
    if isinstance(exc, RedirectWarning):
        return xmlrpc.client.Fault(FAULT_WARNING, str(exc.args[0]))
    if isinstance(exc, AccessError):
        return xmlrpc.client.Fault(FAULT_ACCESS_ERROR, str(exc))
    if isinstance(exc, AccessDenied):
        return xmlrpc.client.Fault(FAULT_ACCESS_DENIED, str(exc))
    if isinstance(exc, UserError):
        return xmlrpc.client.Fault(FAULT_WARNING, str(exc))
    return xmlrpc.client.Fault(FAULT_APPLICATION_ERROR, "".join(traceback.format_exception(exc)))


def fault_string(exc: BaseException) -> xmlrpc.client.Fault:
    if isinstance(exc, RedirectWarning):
        return xmlrpc.client.Fault("warning -- Warning\n\n" + str(exc.args[0]), "")  # type: ignore[arg-type]
    if isinstance(exc, MissingError):
        return xmlrpc.client.Fault("warning -- MissingError\n\n" + str(exc), "")  # type: ignore[arg-type]
    if isinstance(exc, AccessError):
        return xmlrpc.client.Fault("warning -- AccessError\n\n" + str(exc), "")  # type: ignore[arg-type]
    if isinstance(exc, AccessDenied):
        return xmlrpc.client.Fault("AccessDenied", str(exc))  # type: ignore[arg-type]
    if isinstance(exc, UserError):
        return xmlrpc.client.Fault("warning -- UserError\n\n" + str(exc), "")  # type: ignore[arg-type]
    return xmlrpc.client.Fault(str(exc), "".join(traceback.format_exception(exc)))  # type: ignore[arg-type]


def make_xmlrpc_endpoint(dispatch: Callable[[str, str, list[Any], str], Any], legacy: bool) -> Any:
    to_fault = fault_string if legacy else fault_int

    async def endpoint(request: Request) -> Response:
        service = request.path_params["service"]
        ip = client_ip(request)
        data = await request.body()

        def run() -> str:
            try:
                params, method = xmlrpc.client.loads(data, use_datetime=True)
                result = dispatch(service, str(method), list(params), ip)
                return dumps((result,))
            except Exception as exc:
                return dumps(to_fault(exc))

        return Response(await run_in_threadpool(run), media_type="text/xml")

    return endpoint
