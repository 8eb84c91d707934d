#!/usr/bin/env bash
# Installs what `cargo bench --bench load` compares passdrop with: SnapPass 1.6.2 (PyPI)
# served by gunicorn, in a virtual environment at /opt/passdrop-bench, and Redis
# (Debian). Run as root on a Debian machine; everything it starts listens on loopback.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends redis-server procps python3-venv >/dev/null
# The package may start its own Redis on 6379; the benchmark starts another on a free port.
python3 -m venv /opt/passdrop-bench
/opt/passdrop-bench/bin/pip install --quiet snappass==1.6.2 gunicorn
echo "ready: cargo bench --bench load   (it finds /opt/passdrop-bench/bin/gunicorn)"
