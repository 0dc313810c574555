"""Property tests (hypothesis) for every converter on the webhook path: the strict JSON parser,
the decimal and timestamp parsers, the shop order converter; and hostile signed bodies posted
to the app in-process, none of which may get an answer of 500 or more."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from ferry.decimals import money, parse_decimal
from ferry.errors import ValidationError
from ferry.metrics import ServiceMetrics
from ferry.serde import SingleObjectSerde
from ferry.settings import ServiceSettings
from ferry.timefmt import format_timestamp, parse_strict_timestamp
from producers.gateway.app import create_app
from producers.gateway.jsonbody import MAX_DEPTH, JsonBodyError, parse_json_strict
from producers.gateway.signature import sign
from producers.shop.webhook import EVENT_TYPE, WEBHOOK_TOPICS, convert_order, order_record
from tests.unit.gateway.test_app import SECRET, FakeProducer, shop_routes
from tests.unit.gateway.test_shop import webhook

SERDE = SingleObjectSerde()
T = TypeVar("T")

# -- strategies --------------------------------------------------------------------------------

any_text = st.text(st.characters(exclude_categories=()), max_size=40)  # lone surrogates too
awkward_numbers = st.sampled_from(
    [
        Decimal("1e999999999"),
        Decimal("-1e999999999"),
        Decimal("1e-999999999"),
        Decimal("0e999999999"),
        Decimal("NaN"),
        Decimal("sNaN"),
        Decimal("Infinity"),
        Decimal("-0"),
        10**4000,
        -(2**63) - 1,
        2**63,
        2**31,
        float("nan"),
        float("inf"),
    ]
)
awkward_text = st.sampled_from(
    [
        "1_000.00",
        "\u0661\u0662",
        "\uff11\uff12",
        " 12.50",
        "12.5 ",
        "1e999999999",
        "1e9999999999",
        "-0",
        "NaN",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "9999-12-31T23:59:59.999999Z",
        "1970-01-01T00:00:00Z",
        "2024-05-02T10:15:30+0200",
        "2024-02-30T10:15:30Z",
        "\ud800",
        "x\udfff",
        "",
    ]
)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.decimals()
    | st.floats()
    | any_text
    | awkward_numbers
    | awkward_text
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4)
    ),
    max_leaves=12,
)


def paths(value: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every path of a JSON value (containers and leaves), the root first."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from paths(item, (*prefix, i))


WEBHOOK_PATHS = list(paths(webhook()))[1:]


def replaced(base: Any, path: tuple[str | int, ...], value: Any) -> Any:
    if not path:
        return value
    out = copy.deepcopy(base)
    node = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


@st.composite
def mangled_webhooks(draw: st.DrawFn) -> Any:
    """A valid webhook with one to three values (or the whole body) replaced by any JSON."""
    body: Any = webhook()
    for _ in range(draw(st.integers(1, 3))):
        if not isinstance(body, dict):
            break
        path = draw(st.sampled_from([(), *WEBHOOK_PATHS]))
        with contextlib.suppress(KeyError, IndexError, TypeError):  # a path removed earlier
            body = replaced(body, path, draw(json_values))
    return body


# -- the shop order converter ------------------------------------------------------------------


def convert(payload: Any) -> dict[str, Any] | ValidationError:
    """The record (encodable by the serde), or the ValidationError; anything else fails."""
    try:
        converted = convert_order(payload, delivery_id="d-1")
    except ValidationError as exc:
        error = exc
    else:
        SERDE.encode(EVENT_TYPE, converted.record)  # Avro takes it
        converted.key.encode("utf-8")
        return converted.record
    assert error.field
    assert error.rule
    str(error)  # the message can be built
    return error


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mangled_webhooks())
@example(replaced(webhook(), ("id",), "\ud800"))
@example(replaced(webhook(), ("line_items", 0, "price"), "1e999999999"))
@example(replaced(webhook(), ("line_items", 0, "price"), Decimal("-1e999999999")))
@example(replaced(webhook(), ("created_at",), "0001-01-01T00:00:00+01:00"))
@example(replaced(webhook(), ("tags",), "a, \udc00"))
def test_any_json_in_any_field_gives_a_record_or_a_validation_error(payload: Any) -> None:
    convert(payload)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_any_json_value_as_the_body_gives_a_record_or_a_validation_error(payload: Any) -> None:
    convert(payload)


money_text = st.decimals(
    min_value=Decimal("-99999999999999.9999"),
    max_value=Decimal("99999999999999.9999"),
    places=4,
    allow_nan=False,
    allow_infinity=False,
)
moments = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)
offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))


@st.composite
def valid_webhooks(draw: st.DrawFn) -> dict[str, Any]:
    body = webhook()
    body["id"] = draw(st.integers(-(2**63), 2**63 - 1) | st.text(min_size=1, max_size=20))
    body["name"] = draw(st.text(max_size=20))
    line = body["line_items"][0]
    line["quantity"] = draw(st.integers(-(2**31), 2**31 - 1))
    price = draw(money_text)
    line["price"] = draw(st.sampled_from([str(price), f"{price:f}", price]))
    line["title"] = draw(st.text(max_size=20))
    for name in ("created_at", "updated_at"):
        moment = draw(moments).astimezone(draw(offsets))
        body[name] = moment.isoformat(timespec=draw(st.sampled_from(["seconds", "microseconds"])))
    return body


@settings(max_examples=300, deadline=None)
@given(valid_webhooks())
def test_valid_orders_keep_their_values_through_the_record_and_avro(body: dict[str, Any]) -> None:
    record = order_record(body, delivery_id="d-1")
    line = body["line_items"][0]
    assert record["order_id"] == str(body["id"])
    assert record["order_name"] == body["name"]
    assert record["lines"][0]["quantity"] == line["quantity"]
    assert record["lines"][0]["unit_price"] == Decimal(line["price"])
    assert record["lines"][0]["title"] == line["title"]
    for name in ("created_at", "updated_at"):
        sent = datetime.fromisoformat(body[name])
        assert sent - timedelta(milliseconds=1) < record[name] <= sent
        assert record[name].tzinfo is UTC
    assert SERDE.decode(SERDE.encode(EVENT_TYPE, record)).record == record


# -- the strict JSON parser --------------------------------------------------------------------


def parse(body: bytes) -> Any:
    try:
        return parse_json_strict(body)
    except JsonBodyError as exc:
        error = exc
    assert error.rejection().status == 400
    assert error.rule
    json.dumps(error.rejection().body(), ensure_ascii=False).encode()  # the answer can be sent
    return error


valid_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
@example(b"\xef\xbb\xbf{}")
@example(b"[" * 5000)
@example(b'"\\ud800"')
@example(b"1e99999999999999999999")
@example(b'{"a": 1, "a": 2}')
def test_any_bytes_are_parsed_or_refused_with_a_400(body: bytes) -> None:
    parse(body)


@settings(max_examples=300, deadline=None)
@given(valid_json, st.sampled_from(["utf-8", "utf-16", "utf-16-le", "utf-32", "utf-8-sig"]))
def test_json_text_parses_back_in_utf8_only(value: Any, encoding: str) -> None:
    text = json.dumps(value, ensure_ascii=False)
    result = parse(text.encode(encoding, "surrogatepass"))
    if encoding == "utf-8":
        assert result == value
    else:
        assert isinstance(result, JsonBodyError)


@settings(max_examples=300, deadline=None)
@given(valid_json, st.integers(0, len(b'{"a": [1, "x\\u00e9"]}')), st.binary(max_size=3))
def test_mutated_json_is_parsed_or_refused_with_a_400(value: Any, at: int, junk: bytes) -> None:
    raw = json.dumps(value).encode()
    parse(raw[:at] + junk + raw[at:])


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 300))
def test_depth_is_refused_past_the_limit_only(depth: int) -> None:
    raw = b"[" * depth + b"]" * depth
    result = parse(raw)
    if depth <= MAX_DEPTH:
        assert not isinstance(result, JsonBodyError)
    else:
        assert isinstance(result, JsonBodyError)
        assert result.rule == f"depth ≤ {MAX_DEPTH}"


@settings(max_examples=200, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_json_numbers_become_exact_decimals(number: Decimal) -> None:
    result = parse(f'{{"n": {number}}}'.encode())
    if isinstance(result, JsonBodyError):
        assert len(str(number)) > 1000 or "range" in result.rule
    else:
        assert result["n"] == number


# -- the decimal and timestamp parsers -------------------------------------------------------


def outcome(
    parser: Callable[[Any, str], T], value: Any, field: str = "price"
) -> T | ValidationError:
    """What ``parser`` made of ``value``, or its ValidationError (anything else fails)."""
    try:
        return parser(value, field)
    except ValidationError as exc:
        return exc


@settings(max_examples=500, deadline=None)
@given(
    any_text | awkward_text | st.from_regex(r"[-+]?[0-9_.eE \u0660-\u0669]{1,12}", fullmatch=True)
)
def test_any_text_is_a_strict_decimal_or_a_validation_error(text: str) -> None:
    amount = outcome(parse_decimal, text)
    if isinstance(amount, ValidationError):
        assert (amount.field, amount.rule) == ("price", "decimal string")
        return
    assert text.isascii()
    assert not any(c in text for c in " _\t\n")
    assert amount.is_finite()
    held = outcome(money, amount)
    assert isinstance(held, Decimal) or held.field == "price"


@settings(max_examples=300, deadline=None)
@given(money_text)
def test_money_text_reads_back_exactly(amount: Decimal) -> None:
    for text in (str(amount), f"{amount:f}", f"{amount:e}"):
        assert money(parse_decimal(text, "price"), "price") == amount


@settings(max_examples=300, deadline=None)
@given(st.decimals() | awkward_numbers | json_scalars)
def test_money_never_raises_anything_but_a_validation_error(value: Any) -> None:
    amount = outcome(money, value)
    if isinstance(amount, ValidationError):
        assert amount.field == "price"
        str(amount)
        return
    assert amount.as_tuple().exponent == -4
    assert abs(amount) < Decimal("1e14")


@settings(max_examples=500, deadline=None)
@given(
    any_text
    | awkward_text
    | st.from_regex(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
        r"(Z|[-+][0-9]{2}:[0-9]{2})?",
        fullmatch=True,
    )
)
def test_any_text_is_a_timestamp_in_range_or_a_validation_error(text: str) -> None:
    moment = outcome(parse_strict_timestamp, text, "created_at")
    if isinstance(moment, ValidationError):
        assert moment.field == "created_at"
        assert moment.rule in (
            "ISO 8601 timestamp",
            "ISO 8601 timestamp with a UTC offset",
            "year 1970 to 9999",
        )
        return
    assert moment.tzinfo is UTC
    assert datetime(1970, 1, 1, tzinfo=UTC) <= moment
    assert moment.year <= 9999


@settings(max_examples=300, deadline=None)
@given(moments, offsets, st.sampled_from(["seconds", "milliseconds", "microseconds"]))
def test_timestamps_read_back_as_the_same_moment(
    moment: datetime, offset: timezone, spec: str
) -> None:
    local = moment.astimezone(offset)
    text = local.isoformat(timespec=spec)
    expected = datetime.fromisoformat(text)
    assert parse_strict_timestamp(text, "t") == expected
    stamped = format_timestamp(moment)
    assert parse_strict_timestamp(stamped, "t") == moment.replace(
        microsecond=moment.microsecond // 1000 * 1000
    )


# -- hostile signed bodies through the app -------------------------------------------------------


class Posted:
    """The app in-process on a loop of its own (app errors become 500 answers, as uvicorn
    would send them), and every status it gave."""

    def __init__(self) -> None:
        self.producer = FakeProducer()
        app = create_app(
            ServiceSettings(port=0),
            self.producer,
            SERDE,
            ServiceMetrics("gateway"),
            shop_routes(SECRET),
            produce_timeout_s=1,
        )
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url="http://gateway",
        )
        self.statuses: list[int] = []

    def post(self, raw: bytes, topic: str | None = "orders/create") -> int:
        headers = {"Content-Type": "application/json", "X-Shopify-Hmac-Sha256": sign(SECRET, raw)}
        if topic is not None:
            headers["X-Shopify-Topic"] = topic
        sent = self.client.post("/webhooks/shop", content=raw, headers=headers)
        status = self.loop.run_until_complete(sent).status_code
        self.statuses.append(status)
        return status

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()


@pytest.fixture(scope="module")
def posted() -> Iterator[Posted]:
    made = Posted()
    yield made
    made.close()
    count = len(made.statuses)
    failed = sum(1 for s in made.statuses if s >= 500)
    print(f"\nhostile bodies posted: {count}, answers >= 500: {failed}")


def dumps(value: Any) -> bytes:
    """JSON text of ``value`` with Decimals as number literals and lone surrogates escaped
    (as a hostile sender would write them), in UTF-8."""

    def literal(item: Any) -> Any:
        if isinstance(item, Decimal):
            return _Raw(str(item))
        if isinstance(item, dict):
            return {k: literal(v) for k, v in item.items()}
        if isinstance(item, list):
            return [literal(v) for v in item]
        return item

    raws: list[str] = []

    def default(item: Any) -> Any:
        if isinstance(item, _Raw):
            raws.append(item.text)
            return f"\x00raw{len(raws) - 1}\x00"
        raise TypeError(type(item).__name__)

    text = json.dumps(literal(value), default=default)
    for i, raw in enumerate(raws):
        text = text.replace(f'"\\u0000raw{i}\\u0000"', raw)
    return text.encode("utf-8")


class _Raw:
    def __init__(self, text: str) -> None:
        self.text = text


FIXED = [
    b'{"note": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b"[" * 1_000_000,
    dumps(replaced(webhook(), ("line_items", 0, "price"), "1e999999999")),
    dumps(replaced(webhook(), ("line_items", 0, "price"), Decimal("1e999999999"))),
    dumps(replaced(webhook(), ("line_items", 0, "price"), Decimal("-1e999999999"))),
    dumps(replaced(webhook(), ("created_at",), "0001-01-01T00:00:00+01:00")),
    dumps(replaced(webhook(), ("updated_at",), "9999-12-31T23:59:59-01:00")),
    dumps(replaced(webhook(), ("id",), "\ud800")),
    dumps({**webhook(), "\udc00": 1}),
    dumps(replaced(webhook(), ("total_price",), "1_000.00")),
    dumps(replaced(webhook(), ("total_price",), "\u0661\u0662")),
    dumps(replaced(webhook(), ("id",), 10**999)),
    json.dumps(webhook()).encode("utf-16"),
    json.dumps(webhook()).encode("utf-32"),
    b"\xef\xbb\xbf" + json.dumps(webhook()).encode(),
    b"\xed\xa0\x80",
    b"",
    b"null",
    b"1e99999999999999999999",
    b'{"id": 1, "id": 2}',
]


@pytest.mark.parametrize("raw", FIXED, ids=range(len(FIXED)))
def test_the_known_hostile_bodies_get_no_5xx(posted: Posted, raw: bytes) -> None:
    assert posted.post(raw) < 500


@pytest.mark.parametrize("topic", [None, "", "orders/delete", *WEBHOOK_TOPICS])
def test_any_topic_header_gets_no_5xx(posted: Posted, topic: str | None) -> None:
    assert posted.post(dumps(webhook()), topic) < 500


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(mangled_webhooks())
def test_hostile_signed_orders_get_no_5xx(posted: Posted, payload: Any) -> None:
    assert posted.post(dumps(payload)) < 500


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.binary(max_size=300) | valid_json.map(lambda v: json.dumps(v).encode("utf-16")))
def test_hostile_signed_bytes_get_no_5xx(posted: Posted, raw: bytes) -> None:
    assume(raw is not None)
    assert posted.post(raw) < 500
