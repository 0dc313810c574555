#!/usr/bin/env bash
# Installs Prometheus and promtool from the distribution's package, unless they are on PATH.
# Idempotent; `make prometheus` calls it. The package does not start a service here.
set -euo pipefail

if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "Prometheus is missing and this system has no apt-get: install prometheus and" >&2
    echo "promtool (2.x) from https://prometheus.io/download/ and put them on PATH." >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "installing Prometheus needs root (or sudo)" >&2; exit 1; }
    SUDO="sudo"
fi

echo "Installing Prometheus (apt-get install prometheus)..."
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends prometheus
command -v prometheus >/dev/null && command -v promtool >/dev/null
