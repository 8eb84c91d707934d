#!/usr/bin/env bash
# Creation's cost per link, measured directly: `passdrop batch create` at 1,000, 10,000
# and 50,000 links, ROUNDS rounds (default 5) of one creation of each size, each on a
# fresh data directory with `serve` running on 127.0.0.1 as in `cargo bench --bench
# load`. Prints each size's median wall and CPU time (user + system, bash's `time`) and
# the marginal cost per link between sizes, where fixed costs (process start, one
# Argon2 unlock) cancel out. Usage: scripts/creation-margin.sh [BINARY] [ROUNDS]
# (default target/release/passdrop; build it with `cargo build --release`).
set -euo pipefail
BIN=$(realpath "${1:-target/release/passdrop}")
ROUNDS=${2:-5}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export PASSDROP_PASSPHRASE='benchmark passphrase, not secret' PASSDROP_LOG=warn
for n in 1000 10000 50000; do
    { echo "EmailAddress,DisplayName"
      seq 0 $((n - 1)) | sed 's/.*/user&@bench.example,User &/'; } > "$WORK/roster-$n.csv"
done
: > "$WORK/times"
for _ in $(seq "$ROUNDS"); do
    for n in 1000 10000 50000; do
        d="$WORK/d"; rm -rf "$d"; mkdir "$d"
        export PASSDROP_DATA_DIR="$d/data"
        "$BIN" admin init >/dev/null 2>&1 </dev/null
        "$BIN" serve --listen 127.0.0.1:0 --rate-limit 0 >/dev/null 2>&1 </dev/null &
        server=$!
        sleep 0.7
        TIMEFORMAT="$n %R %U %S"
        { time "$BIN" batch create --name bench --public-url http://127.0.0.1:1 \
            --roster "$WORK/roster-$n.csv" --links-out "$d/links.csv" >/dev/null 2>&1 </dev/null; } \
            2>> "$WORK/times"
        kill "$server"; wait "$server" 2>/dev/null || true
    done
done
python3 - "$WORK/times" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    n, real, user, system = line.split()
    runs.setdefault(int(n), []).append((float(real), float(user) + float(system)))
for i, what in ((0, "wall"), (1, "CPU")):
    med = {n: statistics.median(r[i] for r in v) for n, v in runs.items()}
    first = (med[10000] - med[1000]) / 9000 * 1e6
    second = (med[50000] - med[10000]) / 40000 * 1e6
    print(f"{what}: median s at 1,000 / 10,000 / 50,000 links: "
          f"{med[1000]:.3f} / {med[10000]:.3f} / {med[50000]:.3f}; "
          f"marginal µs per link {first:.1f} -> {second:.1f} ({(second / first - 1) * 100:+.0f}%)")
PY
