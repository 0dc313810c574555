"""A hand-written aiokafka consume -> produce loop, in batches, until SIGTERM.

Each batch: ``getmany`` (at most 500 records), each record copied (``--copy``) or taken through
``FlowProcessor.process``, every output sent (acks=all), the sends awaited, then the offsets
committed: an input record is committed only after Kafka acknowledged its output.
"""

from __future__ import annotations

import asyncio
import signal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.stream_legs.flow import leg_arguments, processor_of
from streams.processor import FlowProcessor, Output

MAX_RECORDS = 500


async def run(
    bootstrap: str, source: str, target: str, group: str, processor: FlowProcessor | None
) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    try:
        while not stop.is_set():
            batch = await consumer.getmany(timeout_ms=100, max_records=MAX_RECORDS)
            futures = []
            for records in batch.values():
                for r in records:
                    if processor is None:
                        key, value, headers = r.key, r.value, list(r.headers)
                    else:
                        out = processor.process(r.key, r.value, r.headers)
                        if not isinstance(out, Output):
                            raise SystemExit(f"a bench event was not processed: {out!r}")
                        key, value, headers = out.key, out.value, out.headers
                    futures.append(await producer.send(target, value, key=key, headers=headers))
            if futures:
                await asyncio.gather(*futures)
                await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()


def main(argv: list[str] | None = None) -> None:
    parser = leg_arguments((__doc__ or "").splitlines()[0])
    parser.add_argument("--copy", action="store_true", help="copy the bytes, no processing")
    args = parser.parse_args(argv)
    if not args.copy and (args.config is None or args.flow is None):
        parser.error("--config and --flow are needed unless --copy")
    processor = None if args.copy else processor_of(args.config, args.flow)
    asyncio.run(run(args.bootstrap, args.source, args.target, args.group, processor))


if __name__ == "__main__":
    main()
