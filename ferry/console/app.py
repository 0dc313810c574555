"""The console's Starlette app: pages, sign-in, CSRF, and the three ops routes.

Every page but the sign-in page needs a signed-in session (else a redirect to ``/login``);
every POST needs the session's CSRF token in its form (else 403). Pages are Jinja2 templates
with autoescaping; no page shows a secret (the operator token, keys, webhook secrets): they
show only what the sources return, and dead letters' values only on a record's own page.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlencode

from aiokafka.errors import KafkaError
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ferry.errors import FerryError
from ferry.metrics import ServiceMetrics
from ferry.ops.dlq import DeadLetter, Filters, parse_ref, shown_value
from ferry.reconcile import KINDS
from ferry.registry import CONSOLE, Registry
from ferry.service import ops_routes
from ferry.settings import ConsoleSettings

from . import auth, views
from .sources import Sources

__all__ = ["MAX_FORM_BYTES", "SESSION_COOKIE", "create_app"]

log = logging.getLogger(__name__)

SESSION_COOKIE = "ferry_console"
MAX_FORM_BYTES = 1024 * 1024
_SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
# Failures of the data sources that a page reports instead of failing.
_SOURCE_ERRORS = (KafkaError, OSError, TimeoutError, FerryError)
Handler = Callable[[Request], Awaitable[Response]]


class _SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for name, value in _SECURITY_HEADERS.items():
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _Form:
    """A URL-encoded form body: the first value of a field, or all of them."""

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        self._fields = fields

    def get(self, name: str, default: str = "") -> str:
        values = self._fields.get(name)
        return values[0] if values else default

    def all(self, name: str) -> list[str]:
        return list(self._fields.get(name, []))


class _Console:
    def __init__(
        self,
        registry: Registry,
        sources: Sources,
        token: SecretStr,
        metrics: ServiceMetrics,
    ) -> None:
        self.registry = registry
        self.sources = sources
        self.token = token
        self.metrics = metrics
        self.rates = views.Rates()
        self.templates = Environment(
            loader=PackageLoader("ferry.console", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["number"] = _number
        self.templates.filters["rate"] = _rate

    # -- plumbing ----------------------------------------------------------------------------

    def render(
        self, request: Request, name: str, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        html = self.templates.get_template(name).render(
            request=request,
            csrf_field=auth.CSRF_FIELD,
            csrf=auth.csrf_token(request.session),
            signed_in=auth.signed_in(request.session),
            page=context.pop("page", ""),
            **context,
        )
        return HTMLResponse(html, status_code=status_code)

    def problem(self, request: Request, status_code: int, title: str, message: str) -> Response:
        return self.render(
            request, "problem.html", status_code, title=title, message=message, page=""
        )

    async def form(self, request: Request) -> _Form | None:
        """The request's URL-encoded form, or None when it is not one (or too large)."""
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/x-www-form-urlencoded":
            return None
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                return None
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return _Form(parse_qs(text, keep_blank_values=True, max_num_fields=20_000))

    def count(self, route: str, status: int) -> None:
        self.metrics.http_requests.labels(self.metrics.service, route, str(status)).inc()

    def page(self, route: str, handler: Handler) -> Handler:
        """``handler`` for a signed-in operator only (else: to the sign-in page)."""

        async def guarded(request: Request) -> Response:
            if not auth.signed_in(request.session):
                target = request.url.path
                if request.url.query:
                    target += f"?{request.url.query}"
                response: Response = RedirectResponse(
                    f"/login?{urlencode({'next': target})}", status_code=303
                )
            else:
                response = await handler(request)
            self.count(route, response.status_code)
            return response

        return guarded

    def action(
        self, route: str, handler: Callable[[Request, _Form], Awaitable[Response]]
    ) -> Handler:
        """A POST: its form must carry the session's CSRF token (else 403), and (but for the
        sign-in itself) the operator must be signed in."""

        async def checked(request: Request) -> Response:
            form = await self.form(request)
            if form is None or not auth.csrf_valid(
                request.session, form.get(auth.CSRF_FIELD) or None
            ):
                response = self.problem(
                    request,
                    403,
                    "Refused: the form's security token is missing or wrong",
                    "This form was not sent from a page of this console's current session "
                    "(CSRF protection). Open the page again and resend the form.",
                )
            elif route != "/login" and not auth.signed_in(request.session):
                response = RedirectResponse("/login", status_code=303)
            else:
                response = await handler(request, form)
            self.count(route, response.status_code)
            return response

        return checked

    async def scrape(self) -> list[Any]:
        return await self.sources.scrape()

    # -- sign-in -----------------------------------------------------------------------------

    async def login_page(self, request: Request) -> Response:
        nxt = _local(request.query_params.get("next", "/flows"))
        return self.render(request, "login.html", next=nxt, error=None, page="login")

    async def login(self, request: Request, form: _Form) -> Response:
        nxt = _local(form.get("next", "/flows"))
        if not auth.token_matches(self.token, form.get("token")):
            log.warning("console: sign-in refused (wrong token)")
            return self.render(
                request,
                "login.html",
                401,
                next=nxt,
                error="That is not the operator token.",
                page="login",
            )
        auth.sign_in(request.session)
        log.info("console: operator signed in")
        return RedirectResponse(nxt, status_code=303)

    async def logout(self, request: Request, form: _Form) -> Response:
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    # -- pages -------------------------------------------------------------------------------

    async def flows(self, request: Request) -> Response:
        scrapes = await self.scrape()
        flows = views.flow_views(self.registry, scrapes, self.rates)
        return self.render(
            request,
            "flows.html",
            flows=flows,
            scrapes=scrapes,
            rate_seconds=self.rates.seconds,
            page="flows",
        )

    async def dead_letters(self, request: Request) -> Response:
        known = views.dlq_topics(self.registry)
        query = {k: request.query_params.get(k, "") for k in views.FILTER_FIELDS}
        context: dict[str, Any] = {
            "query": query,
            "known_topics": known,
            "letters": [],
            "total": 0,
            "error": None,
            "limit": views.DEFAULT_LIMIT,
            "page": "dead-letters",
        }
        try:
            topics, filters, limit = views.parse_filters(query, known)
        except views.FilterProblem as exc:
            context["error"] = str(exc)
            return self.render(request, "dead_letters.html", 400, **context)
        try:
            letters = await self.sources.dead_letters(topics, filters)
        except _SOURCE_ERRORS as exc:
            context["error"] = f"Kafka could not be read: {type(exc).__name__}"
            return self.render(request, "dead_letters.html", 503, **context)
        newest = list(reversed(letters))[:limit]
        context.update(
            letters=[(letter, letter.summary()) for letter in newest],
            total=len(letters),
            limit=limit,
        )
        return self.render(request, "dead_letters.html", **context)

    async def _letters(self, refs: Sequence[str]) -> tuple[list[DeadLetter], list[str]]:
        """The dead letters of ``refs`` (read from their topics) and the refs not found.
        Raises :class:`FilterProblem` for a ref that is not one of a known DLQ topic."""
        known = views.dlq_topics(self.registry)
        wanted: dict[str, tuple[str, int, int]] = {}
        for ref in refs:
            parsed = parse_ref(ref)
            if parsed is None:
                raise views.FilterProblem("ref", f"{ref!r}: give TOPIC:PARTITION:OFFSET")
            if parsed[0] not in known:
                raise views.FilterProblem(
                    "ref", f"{parsed[0]!r} is not a dead-letter topic of an enabled flow"
                )
            wanted[ref] = parsed
        topics = list(dict.fromkeys(t for t, _, _ in wanted.values()))
        found = {
            letter.ref: letter
            for letter in await self.sources.dead_letters(topics, Filters())
            if letter.ref in wanted
        }
        letters = [found[ref] for ref in wanted if ref in found]
        return letters, [ref for ref in wanted if ref not in found]

    async def record(self, request: Request) -> Response:
        ref = request.path_params["ref"]
        try:
            letters, missing = await self._letters([ref])
        except views.FilterProblem as exc:
            return self.problem(request, 400, "Not a dead letter", str(exc))
        except _SOURCE_ERRORS as exc:
            return self.problem(request, 503, "Kafka could not be read", type(exc).__name__)
        if missing:
            return self.problem(request, 404, "No such dead letter", f"no dead letter at {ref}")
        letter = letters[0]
        headers = [(name, value.decode("utf-8", "replace")) for name, value in letter.headers]
        return self.render(
            request,
            "record.html",
            letter=letter,
            row=letter.summary(),
            headers=headers,
            value=shown_value(self.registry, letter.value),
            page="dead-letters",
        )

    async def _replay_plan(
        self, request: Request, form: _Form
    ) -> tuple[list[DeadLetter], list[DeadLetter], list[str], bool] | Response:
        refs = list(dict.fromkeys(r for r in form.all("ref") if r))
        again = form.get("again") == "yes"
        if not refs:
            return self.problem(
                request,
                400,
                "Nothing selected",
                "Tick the dead letters to replay in the table, then press Replay selected.",
            )
        try:
            letters, missing = await self._letters(refs)
        except views.FilterProblem as exc:
            return self.problem(request, 400, "Not a dead letter", str(exc))
        except _SOURCE_ERRORS as exc:
            return self.problem(request, 503, "Kafka could not be read", type(exc).__name__)
        chosen = [x for x in letters if again or not x.replayed_at]
        skipped = [x for x in letters if not again and x.replayed_at]
        return chosen, skipped, missing, again

    async def replay_confirm(self, request: Request, form: _Form) -> Response:
        plan = await self._replay_plan(request, form)
        if isinstance(plan, Response):
            return plan
        chosen, skipped, missing, again = plan
        origins: dict[str, int] = {}
        for letter in chosen:
            origins[letter.origin] = origins.get(letter.origin, 0) + 1
        return self.render(
            request,
            "replay_confirm.html",
            chosen=[(x, x.summary()) for x in chosen],
            skipped=[(x, x.summary()) for x in skipped],
            missing=missing,
            origins=sorted(origins.items()),
            again=again,
            page="dead-letters",
        )

    async def replay(self, request: Request, form: _Form) -> Response:
        plan = await self._replay_plan(request, form)
        if isinstance(plan, Response):
            return plan
        chosen, skipped, missing, _ = plan
        try:
            sent = await self.sources.replay(chosen) if chosen else 0
        except _SOURCE_ERRORS as exc:
            return self.problem(
                request, 503, "The replay did not complete", f"Kafka: {type(exc).__name__}"
            )
        log.info("console: replayed %d dead letter(s), %d skipped", sent, len(skipped))
        return self.render(
            request,
            "replay_result.html",
            sent=sent,
            chosen=[(x, x.summary()) for x in chosen],
            skipped=[(x, x.summary()) for x in skipped],
            missing=missing,
            page="dead-letters",
        )

    async def reconcile_page(self, request: Request) -> Response:
        return await self._reconcile(request, None, None)

    async def reconcile_run(self, request: Request, form: _Form) -> Response:
        name = request.path_params["flow"]
        flows = {f.name: f for f in self.registry.sink_flows()}
        flow = flows.get(name)
        if flow is None:
            return self.problem(
                request,
                404,
                "No such flow",
                f"{name!r} is not an enabled flow with a sink (flows: {', '.join(flows)})",
            )
        try:
            report = await self.sources.reconcile(flow)
        except _SOURCE_ERRORS as exc:
            return await self._reconcile(
                request, name, None, error=f"the run failed: {type(exc).__name__}"
            )
        if report is None:
            return await self._reconcile(
                request, name, None, error="its target is not one reconciliation covers"
            )
        log.info("console: reconcile %s", report.summary())
        return await self._reconcile(request, name, report)

    async def _reconcile(
        self, request: Request, flow: str | None, report: Any, *, error: str | None = None
    ) -> Response:
        scrapes = await self.scrape()
        return self.render(
            request,
            "reconcile.html",
            flows=views.reconcile_views(self.registry, scrapes),
            kinds=KINDS,
            ran=flow,
            report=report,
            error=error,
            page="reconcile",
        )

    async def services(self, request: Request) -> Response:
        status = self.sources.status()
        scrapes = await self.scrape() if status is not None else []
        rows = views.service_views(status, scrapes) if status is not None else []
        return self.render(
            request, "services.html", running=status is not None, rows=rows, page="services"
        )

    async def stylesheet(self, _: Request) -> Response:
        css = resources.files("ferry.console").joinpath("static/console.css").read_bytes()
        return Response(css, media_type="text/css")

    def routes(self) -> list[BaseRoute]:
        async def home(_: Request) -> Response:
            return RedirectResponse("/flows", status_code=303)

        return [
            Route("/", home, methods=["GET"]),
            Route("/static/console.css", self.stylesheet, methods=["GET"]),
            Route("/login", self.login_page, methods=["GET"]),
            Route("/login", self.action("/login", self.login), methods=["POST"]),
            Route("/logout", self.action("/logout", self.logout), methods=["POST"]),
            Route("/flows", self.page("/flows", self.flows), methods=["GET"]),
            Route(
                "/dead-letters",
                self.page("/dead-letters", self.dead_letters),
                methods=["GET"],
            ),
            Route(
                "/dead-letters/{ref:path}",
                self.page("/dead-letters/{ref}", self.record),
                methods=["GET"],
            ),
            Route(
                "/replay/confirm",
                self.action("/replay/confirm", self.replay_confirm),
                methods=["POST"],
            ),
            Route("/replay", self.action("/replay", self.replay), methods=["POST"]),
            Route("/reconcile", self.page("/reconcile", self.reconcile_page), methods=["GET"]),
            Route(
                "/reconcile/{flow}",
                self.action("/reconcile/{flow}", self.reconcile_run),
                methods=["POST"],
            ),
            Route("/services", self.page("/services", self.services), methods=["GET"]),
        ]


def _local(target: str) -> str:
    """A path of this console to go to after sign-in; anything else is ``/flows``."""
    if target.startswith("/") and not target.startswith(("//", "/\\")) and "\n" not in target:
        return target
    return "/flows"


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}/s"


def create_app(
    registry: Registry,
    sources: Sources,
    token: SecretStr,
    *,
    metrics: ServiceMetrics | None = None,
    settings: ConsoleSettings | None = None,
) -> Starlette:
    """The console over ``sources``; ``token`` is the operator token (already resolved)."""
    chosen = settings or registry.settings.console
    console = _Console(registry, sources, token, metrics or ServiceMetrics(CONSOLE))
    return Starlette(
        routes=[*ops_routes(console.metrics, lambda: True), *console.routes()],
        middleware=[
            Middleware(_SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=auth.session_key(token),
                session_cookie=SESSION_COOKIE,
                max_age=chosen.session_max_age_s,
                same_site="strict",
                https_only=chosen.secure_cookie,
            ),
        ],
    )
