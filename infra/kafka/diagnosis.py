"""Why a node cannot start: missing prerequisites, and known failure signatures in its logs."""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path

from infra.kafka.ports import NodeSpec

__all__ = [
    "KafkaClusterError",
    "check_prerequisites",
    "diagnose",
    "java_not_found",
    "node_failure",
    "read_logs",
    "tail",
]

_JARS_MISSING = "the Kafka jars are missing from {libs}: run `make jars`"

# Known failure signatures in kafka.out / server.log, turned into advice.
_DIAGNOSES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), advice)
    for pattern, advice in (
        (
            r"Address already in use|BindException",
            "a port is already in use ({ports}): stop what holds it or choose other ports",
        ),
        (
            r"Could not find or load main class kafka\.|ClassNotFoundException: kafka\.",
            _JARS_MISSING,
        ),
        (r"UnsupportedClassVersionError", "this Java is too old: Kafka 4 needs Java 17 or newer"),
        (
            r"meta\.properties|is not formatted|No readable meta",
            "the storage is not formatted, or formatted for another node: remove {state_dir}",
        ),
        (
            r"(?i)invalid cluster\.?id|cluster ?id.*(?:doesn't|does not) match",
            "the data dir belongs to another cluster id: remove {state_dir}",
        ),
        (
            r"Could not reserve enough space|Invalid (?:maximum|initial) heap",
            "the JVM could not reserve its heap: lower heap_mb or free memory",
        ),
        (r"OutOfMemoryError", "the broker ran out of memory: raise heap_mb"),
    )
)

_INTERESTING = re.compile(r"ERROR|FATAL|Exception|Error:|error:")


class KafkaClusterError(RuntimeError):
    """Kafka could not be started, reached or stopped; the message says why and what to do."""


def java_not_found(java: str) -> KafkaClusterError:
    return KafkaClusterError(
        f"java not found ({java!r}): Kafka 4 needs Java 17+ "
        "(apt-get install openjdk-17-jre-headless), or set FERRY_JAVA"
    )


def check_prerequisites(java: str, libs_dir: Path) -> None:
    """Raise before starting anything when there is no Java or no Kafka jars."""
    if shutil.which(java) is None and not Path(java).is_file():
        raise java_not_found(java)
    if not any(libs_dir.glob("kafka_2.13-*.jar")):
        raise KafkaClusterError(_JARS_MISSING.format(libs=libs_dir))


def diagnose(text: str, spec: NodeSpec, libs_dir: Path, state_dir: Path) -> str | None:
    """Advice for the first known failure signature in ``text`` (a node's output), if any."""
    for pattern, advice in _DIAGNOSES:
        if pattern.search(text):
            return advice.format(
                ports=f"{spec.port}, {spec.controller_port}", libs=libs_dir, state_dir=state_dir
            )
    return None


def read_logs(*paths: Path) -> str:
    """The end of each readable file, one after the other."""
    text = ""
    for path in paths:
        with contextlib.suppress(OSError):
            text += path.read_text(errors="replace")[-200_000:] + "\n"
    return text


def node_failure(headline: str, text: str, advice: str | None, logs: Path) -> KafkaClusterError:
    """``headline``, the advice, the last error lines of ``text``, and where the logs are."""
    lines = [ln for ln in text.splitlines() if _INTERESTING.search(ln)][-5:]
    detail = "\n  ".join(lines) if lines else tail(text, 5)
    return KafkaClusterError(
        headline
        + (f": {advice}" if advice else "")
        + (f"\n  {detail}" if detail else "")
        + f"\n  (logs: {logs})"
    )


def tail(text: str, lines: int) -> str:
    return "\n  ".join(text.strip().splitlines()[-lines:])
