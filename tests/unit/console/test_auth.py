"""Sign-in and CSRF: every page needs the operator, every POST the session's CSRF token."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from ferry.console.app import SESSION_COOKIE
from ferry.console.auth import CSRF_FIELD, resolve_token, session_key
from ferry.errors import ConfigError
from ferry.settings import ConsoleSettings
from tests.unit.console.fakes import TOKEN, FakeSources, client, csrf_of, letter, signed_in

PAGES = ["/flows", "/dead-letters", f"/dead-letters/{letter(1).ref}", "/reconcile", "/services"]


@pytest.mark.parametrize("path", PAGES)
async def test_every_page_redirects_to_the_sign_in_page_without_a_session(path: str) -> None:
    answer = await client().get(path)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


async def test_ops_pages_need_no_session() -> None:
    http = client()
    assert (await http.get("/healthz")).status_code == 200
    assert (await http.get("/readyz")).status_code == 200
    assert "ferry_http_requests" in (await http.get("/metrics")).text


async def test_a_wrong_token_is_refused() -> None:
    http = client()
    csrf = csrf_of((await http.get("/login")).text)
    answer = await http.post("/login", data={"token": TOKEN + "x", CSRF_FIELD: csrf})
    assert answer.status_code == 401
    assert "not the operator token" in answer.text
    assert (await http.get("/flows")).status_code == 303  # still not signed in


async def test_the_right_token_signs_in_with_an_httponly_strict_cookie() -> None:
    http = client()
    csrf = csrf_of((await http.get("/login")).text)
    answer = await http.post(
        "/login", data={"token": TOKEN, CSRF_FIELD: csrf, "next": "/dead-letters?key=k"}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dead-letters?key=k"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie.lower()
    assert "samesite=strict" in cookie.lower()
    assert TOKEN not in cookie
    assert (await http.get("/flows")).status_code == 200


async def test_sign_in_goes_only_to_a_page_of_the_console() -> None:
    http = client()
    csrf = csrf_of((await http.get("/login")).text)
    answer = await http.post(
        "/login", data={"token": TOKEN, CSRF_FIELD: csrf, "next": "//evil.example/x"}
    )
    assert answer.headers["location"] == "/flows"


async def test_sign_in_without_the_csrf_token_is_refused() -> None:
    http = client()
    await http.get("/login")
    answer = await http.post("/login", data={"token": TOKEN})
    assert answer.status_code == 403
    assert "security token" in answer.text
    assert (await http.get("/flows")).status_code == 303


@pytest.mark.parametrize(
    "path", ["/replay/confirm", "/replay", "/reconcile/shop-orders-to-odoo", "/logout"]
)
@pytest.mark.parametrize("csrf", [None, "wrong", ""])
async def test_a_post_without_the_sessions_csrf_token_is_refused(
    path: str, csrf: str | None
) -> None:
    sources = FakeSources([letter(1)])
    http, _ = await signed_in(sources)
    form = {"ref": letter(1).ref}
    if csrf is not None:
        form[CSRF_FIELD] = csrf
    answer = await http.post(path, data=form)
    assert answer.status_code == 403
    assert "CSRF" in answer.text
    assert sources.replayed == []
    assert sources.reconciled == []
    assert (await http.get("/flows")).status_code == 200  # still signed in: nothing happened


async def test_a_csrf_token_of_another_session_is_refused() -> None:
    sources = FakeSources([letter(1)])
    mine, _ = await signed_in(sources)
    _, theirs = await signed_in(sources)
    answer = await mine.post("/replay", data={"ref": letter(1).ref, CSRF_FIELD: theirs})
    assert answer.status_code == 403
    assert sources.replayed == []


async def test_a_json_post_is_refused() -> None:
    http, csrf = await signed_in()
    answer = await http.post("/replay", json={"ref": letter(1).ref, CSRF_FIELD: csrf})
    assert answer.status_code == 403


async def test_sign_out_ends_the_session() -> None:
    http, csrf = await signed_in()
    assert (await http.post("/logout", data={CSRF_FIELD: csrf})).status_code == 303
    assert (await http.get("/flows")).status_code == 303


def test_the_token_comes_from_its_reference_and_must_be_long_enough() -> None:
    settings = ConsoleSettings(token="env:MY_CONSOLE_TOKEN")
    assert resolve_token(settings, {"MY_CONSOLE_TOKEN": TOKEN}).get_secret_value() == TOKEN
    with pytest.raises(ConfigError) as missing:
        resolve_token(settings, {})
    assert missing.value.key == "console.token"
    with pytest.raises(ConfigError) as short:
        resolve_token(settings, {"MY_CONSOLE_TOKEN": "short"})
    assert "at least" in str(short.value)
    assert "short" not in short.value.problem.split()[-1]
    with pytest.raises(ConfigError):
        resolve_token(ConsoleSettings(token="inline-token-value"), {})


def test_the_session_key_is_derived_not_the_token() -> None:
    key = session_key(SecretStr(TOKEN))
    assert TOKEN not in key
    assert len(key) == 64
    assert key != session_key(SecretStr(TOKEN + "2"))
