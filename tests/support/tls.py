"""A broker's TLS identity for the tests: a self-signed certificate for 127.0.0.1 and localhost,
made with the JDK's ``keytool`` (Kafka needs Java anyway), in a PKCS#12 keystore for the
broker and a PEM file the Python clients trust."""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BrokerIdentity", "broker_identity"]


@dataclass(frozen=True)
class BrokerIdentity:
    keystore: Path  # PKCS#12, for ssl.keystore.location
    password: str  # of the keystore and its key
    cafile: Path  # the certificate, PEM: what a client trusts


def broker_identity(directory: Path, *, days: int = 2) -> BrokerIdentity:
    directory.mkdir(parents=True, exist_ok=True)
    keystore = directory / "broker.p12"
    cafile = directory / "broker.pem"
    password = secrets.token_urlsafe(16)
    store = ["-keystore", str(keystore), "-storepass", password]
    subprocess.run(
        ["keytool", "-genkeypair", "-alias", "broker", "-keyalg", "EC", "-groupname",
         "secp256r1", "-storetype", "PKCS12", *store, "-keypass", password,
         "-dname", "CN=localhost", "-ext", "SAN=IP:127.0.0.1,DNS:localhost",
         "-validity", str(days)],
        check=True, capture_output=True,
    )  # fmt: skip
    pem = subprocess.run(
        ["keytool", "-exportcert", "-rfc", "-alias", "broker", *store],
        check=True,
        capture_output=True,
    ).stdout
    cafile.write_bytes(pem)
    return BrokerIdentity(keystore, password, cafile)
