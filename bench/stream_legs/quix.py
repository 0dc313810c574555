"""A quixstreams ``Application`` through ``FlowProcessor.process``, until SIGTERM.

Raw bytes in and out: ``.apply`` takes each record's value, key and headers through
``process``, ``.set_headers`` puts the derived envelope on the output, ``.to_topic`` produces
the Avro bytes under the record's key. At-least-once (the offsets are committed at each
checkpoint, after the producer's outputs were acknowledged), acks=all, no state, no changelog.
Needs the ``bench`` extra (``make bench`` installs it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from quixstreams import Application

from bench.stream_legs.flow import leg_arguments, processor_of
from ferry.envelope import Headers
from streams.processor import FlowProcessor, Output


def build(
    bootstrap: str,
    source: str,
    target: str,
    group: str,
    processor: FlowProcessor,
    state_dir: Path,
) -> Application:
    app = Application(
        broker_address=bootstrap,
        consumer_group=group,
        auto_offset_reset="earliest",
        processing_guarantee="at-least-once",
        producer_extra_config={"acks": "all"},
        state_dir=state_dir,
        use_changelog_topics=False,
        loglevel="WARNING",
    )
    inputs = app.topic(source, key_deserializer="bytes", value_deserializer="bytes")
    outputs = app.topic(target, key_serializer="bytes", value_serializer="bytes")

    def process(value: bytes | None, key: bytes | None, _ts: int, headers: Any) -> Output:
        out = processor.process(key, value, headers)
        if not isinstance(out, Output):
            raise SystemExit(f"a bench event was not processed: {out!r}")
        return out

    def output_headers(out: Output, _key: Any, _ts: int, _headers: Any) -> Headers:
        return out.headers

    def output_value(out: Output) -> bytes:
        return out.value

    sdf = app.dataframe(inputs)
    sdf = sdf.apply(process, metadata=True)
    sdf = sdf.set_headers(output_headers)
    sdf = sdf.apply(output_value)
    sdf.to_topic(outputs)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = leg_arguments((__doc__ or "").splitlines()[0])
    parser.add_argument("--state-dir", type=Path, default=Path("state"))
    args = parser.parse_args(argv)
    if args.config is None or args.flow is None:
        parser.error("--config and --flow are needed")
    processor = processor_of(args.config, args.flow)
    app = build(args.bootstrap, args.source, args.target, args.group, processor, args.state_dir)
    app.run()


if __name__ == "__main__":
    main()
