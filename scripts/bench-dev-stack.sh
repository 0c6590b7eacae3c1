#!/usr/bin/env bash
# Time of `tda-kafka start --clean` of the whole development stack on the
# local provider (3 brokers, schema registry, Kafka Connect, Redis, the web
# console, the five TDA topics): one unmeasured warm-up start (it fetches
# what is missing and writes the class-data archives), then RUNS measured
# clean starts (default 5), each its wall time and the start report's
# ready_after, and the medians. Ports 22092-22094 / 22192-22194 / 22080-22083
# / 22379; everything it starts is stopped and removed again. Release build.
#
#   RUNS=5 scripts/bench-dev-stack.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RUNS=${RUNS:-5}
cargo build -q --release -p tda-kafka-tools --bin tda-kafka
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN="$TARGET_DIR/release/tda-kafka"

WORK=$(mktemp -d)
ENV="$WORK/dev.env"
sed -e 's/290/220/g; s/291/221/g; s/2808/2208/g; s/28379/22379/' scripts/test-cluster.env >"$ENV"
stack() { "$BIN" "$@" --provider local --env-file "$ENV" --data-dir "$WORK/stack"; }
cleanup() { stack stop --force --remove-volumes >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }
echo "== warm-up start (not measured)"
stack start --clean >/dev/null 2>&1
stack stop >/dev/null 2>&1
: >"$WORK/wall.txt"; : >"$WORK/ready.txt"
for i in $(seq "$RUNS"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  t0=$(date +%s.%N)
  ready=$(stack start --clean -o json 2>/dev/null | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["ready_after"],2))')
  wall=$(python3 -c "import time; print(round(time.time() - $t0, 2))")
  echo "run $i: start --clean returned after $wall s (ready_after $ready s), load $load"
  echo "$wall" >>"$WORK/wall.txt"; echo "$ready" >>"$WORK/ready.txt"
  stack stop >/dev/null 2>&1
done
echo "median: $(median <"$WORK/wall.txt") s wall, ready_after $(median <"$WORK/ready.txt") s (goal: <= 10 s)"
