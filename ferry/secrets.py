"""Secret references: credentials are named, never written inline.

A secret in ``ferry.yaml`` is a reference: ``env:NAME`` reads the environment variable NAME,
``file:PATH`` reads a file (trailing newline stripped, as written by ``echo`` or a Kubernetes
secret mount). Anything else is refused as an inline secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from ferry.errors import ConfigError

__all__ = ["SecretRef", "parse_secret_ref"]


@dataclass(frozen=True, slots=True)
class SecretRef:
    """Where a secret lives. ``str()`` shows the reference, never the value."""

    kind: str  # "env" or "file"
    target: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}"

    def resolve(self, key: str, environ: Mapping[str, str] | None = None) -> SecretStr:
        """Read the secret; ``key`` names the config key in errors."""
        env = os.environ if environ is None else environ
        if self.kind == "env":
            value = env.get(self.target)
            if not value:
                raise ConfigError(key, f"environment variable {self.target} is not set or empty")
            return SecretStr(value)
        path = Path(self.target)
        try:
            value = path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            problem = f"cannot read secret file {self.target}: {exc.strerror}"
            raise ConfigError(key, problem) from exc
        if not value:
            raise ConfigError(key, f"secret file {self.target} is empty")
        return SecretStr(value)


def parse_secret_ref(key: str, raw: object) -> SecretRef:
    """Parse ``env:NAME`` or ``file:PATH``; refuse inline values without echoing them."""
    if not isinstance(raw, str):
        raise ConfigError(key, "a secret must be a reference string: env:NAME or file:PATH")
    kind, sep, target = raw.partition(":")
    if sep and kind in ("env", "file") and target.strip():
        return SecretRef(kind, target.strip())
    raise ConfigError(
        key,
        "inline secrets are refused; write env:NAME (an environment variable) "
        "or file:PATH (a secret file) instead",
    )
