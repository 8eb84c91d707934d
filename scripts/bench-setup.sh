#!/usr/bin/env bash
# Installs what `cargo bench --bench load` compares passdrop with: SnapPass (PyPI) served
# by gunicorn, and Redis (Debian). Run as root on a Debian machine; loopback only.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends redis-server procps >/dev/null
# The package starts its own Redis on 6379; the benchmark starts another on a free port.
python3 -m pip install --quiet snappass gunicorn
echo "ready: cargo bench --bench load"
