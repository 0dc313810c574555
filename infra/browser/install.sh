#!/usr/bin/env bash
# Installs the headless browser of the operator console's end-to-end test (Chromium and its
# WebDriver) from the distribution's packages, unless they are on PATH. Idempotent;
# `make browser` (a step of `make test`) calls it.
set -euo pipefail

if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "Chromium is missing and this system has no apt-get: install Chromium and its" >&2
    echo "chromedriver (the same version) and put them on PATH." >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "installing Chromium needs root (or sudo)" >&2; exit 1; }
    SUDO="sudo"
fi

echo "Installing Chromium (apt-get install chromium chromium-driver)..."
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium chromium-driver
command -v chromium >/dev/null && command -v chromedriver >/dev/null
