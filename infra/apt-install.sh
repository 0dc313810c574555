#!/usr/bin/env bash
# Installs Debian packages unless the commands they provide are already on PATH. Idempotent.
#   infra/apt-install.sh "COMMAND..." PACKAGE...
# `make prometheus` (prometheus, promtool) and `make browser` (chromium, chromedriver: the
# console's browser test) call it.
set -euo pipefail

commands=$1
shift
missing=0
for command in $commands; do
    command -v "$command" >/dev/null 2>&1 || missing=1
done
((missing)) || exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "$commands: missing, and this system has no apt-get: install $* and put" >&2
    echo "$commands on PATH." >&2
    exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "installing $* needs root (or sudo)" >&2; exit 1; }
    SUDO="sudo"
fi

echo "Installing $* (apt-get install $*)..."
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "$@"
for command in $commands; do
    command -v "$command" >/dev/null
done
