#!/usr/bin/env bash
# Time to ready of the 3-broker stack (brokers + schema registry) with the
# Docker provider (local images) and with the local provider, and of one
# testcontainers KRaft broker. RUNS each (default 5); prints every run and the
# median. Ports 59092-59094 / 59192-59194 / 58081 (never the user's or other
# helpers'); everything it starts is removed again.
# Debug builds: the time is the JVMs starting, not our binary.
#
#   scripts/bench-docker.sh            # RUNS=5
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RUNS=${RUNS:-5}
scripts/docker-engine.sh ensure >/dev/null
cargo build -q -p tda-kafka-tools --bin tda-kafka
cargo build -q -p tda-kafka-cluster --example tc_single_broker_ready
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
BIN="$TARGET_DIR/debug/tda-kafka"
TC="$TARGET_DIR/debug/examples/tc_single_broker_ready"
"$BIN" images build >/dev/null

WORK=$(mktemp -d)
ENV="$WORK/bench.env"
cat >"$ENV" <<'ENVEOF'
TDA_KAFKA_PORT_BASE=59092
TDA_KAFKA_CONTROLLER_PORT_BASE=59192
TDA_KAFKA_JMX_PORT_BASE=0
TDA_SCHEMA_REGISTRY_PORT=58081
TDA_CONNECT_PORT=58083
TDA_REDIS_PORT=56379
ENVEOF
cleanup() {
  "$BIN" stop --provider docker --stack tdabench --env-file "$ENV" --clean-all --force >/dev/null 2>&1 || true
  "$BIN" stop --provider local --data-dir "$WORK/local" --force --clean-all >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }
ready_after() { python3 -c 'import json,sys; print(round(json.load(sys.stdin)["ready_after"],2))'; }

echo "== docker provider (local images, brokers + schema registry), $RUNS runs"
: >"$WORK/docker.txt"
for i in $(seq "$RUNS"); do
  # --clean: fresh volumes each run, like a first start.
  t=$("$BIN" start --provider docker --stack tdabench --env-file "$ENV" --profile core --clean --no-topics -o json 2>/dev/null | ready_after)
  echo "run $i: $t s" ; echo "$t" >>"$WORK/docker.txt"
  "$BIN" stop --provider docker --stack tdabench --env-file "$ENV" --force >/dev/null 2>&1
done
echo "docker median: $(median <"$WORK/docker.txt") s"

echo "== local provider (JVM processes, brokers + schema registry), $RUNS runs"
: >"$WORK/local.txt"
for i in $(seq "$RUNS"); do
  t=$("$BIN" start --provider local --data-dir "$WORK/local" --env-file "$ENV" --clean --no-topics -o json 2>/dev/null | ready_after)
  echo "run $i: $t s" ; echo "$t" >>"$WORK/local.txt"
  "$BIN" stop --provider local --data-dir "$WORK/local" --force >/dev/null 2>&1
done
echo "local median: $(median <"$WORK/local.txt") s"

echo "== testcontainers single KRaft broker, $RUNS runs"
: >"$WORK/tc.txt"
for i in $(seq "$RUNS"); do
  t=$("$TC" | sed -n 's/^ready_after_secs=\([0-9.]*\).*/\1/p')
  echo "run $i: $t s" ; echo "$t" >>"$WORK/tc.txt"
done
echo "testcontainers median: $(median <"$WORK/tc.txt") s"
