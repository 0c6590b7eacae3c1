#!/usr/bin/env bash
# The README's test command: builds the tools, starts a real 3-broker test
# cluster and a schema registry with our own `tda-kafka start`
# (scripts/test-cluster.env: ports 29092-29094, registry 28081), exports
# TDA_KAFKA_TEST_BOOTSTRAP / TDA_KAFKA_TEST_REGISTRY_URL / TDA_KAFKA_TEST_CONNECT_URL /
# TDA_KAFKA_TEST_REDIS, runs every test of
# the workspace, and stops everything again on exit (also on failure).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

fail() { echo "test.sh: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || fail "$1 is required but missing: $2"; }

need cargo "install a Rust toolchain (rust-version in Cargo.toml)"
need java "install Java 17+, e.g. apt-get install openjdk-17-jre-headless"
need kcat "apt-get install kcat (an independent client the tests cross-check with)"
need redis-server "apt-get install redis-server (Redis, a service of the test stack)"
python3 -c 'import confluent_kafka' 2>/dev/null \
  || fail "python3 confluent_kafka is missing for $(command -v python3): python3 -m pip install 'confluent-kafka[avro,schemaregistry]' (or apt-get install python3-confluent-kafka for /usr/bin/python3)"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/tda-kafka"
if [ -z "${KAFKA_HOME:-}" ] && [ ! -f "$CACHE/kafka-4.4.0/.tda-kafka-complete" ]; then
  need mvn "apt-get install maven (fetches Kafka once into ~/.cache/tda-kafka), or set KAFKA_HOME"
fi
# The ZooKeeper-mode jars (the ZooKeeper-mode tests and the local image set's kafka-zk image).
if [ ! -f "$CACHE/kafka-zookeeper-3.9.1/.tda-kafka-complete" ]; then
  need mvn "apt-get install maven (fetches Kafka 3.9.1 with ZooKeeper once into ~/.cache/tda-kafka)"
fi

TARGET_DIR=$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
echo "==> building tda-kafka (target dir $TARGET_DIR)"
cargo build -p tda-kafka-tools --bin tda-kafka
BIN="$TARGET_DIR/debug/tda-kafka"
[ -x "$BIN" ] || fail "build produced no $BIN"

# Docker provider tests (tda-kafka-cluster/tests/docker_*.rs, feature
# testcontainers) need a running engine and the local image set: start dockerd
# when none answers, build the images (cached, a no-op when unchanged). The
# shared test cluster below stays on the local provider (auto would pick Docker).
export TDA_KAFKA_PROVIDER=local
scripts/docker-engine.sh ensure || fail "no Docker engine (see scripts/docker-engine.sh)"
echo "==> building the local Docker images (cached)"
"$BIN" images build || fail "tda-kafka images build failed"

DATA_DIR=${TDA_KAFKA_TEST_DATA_DIR:-$TARGET_DIR/tda-kafka-test/cluster}
ENV_FILE="$ROOT/scripts/test-cluster.env"

stop_cluster() {
  local rc=$?
  echo "==> stopping the test cluster"
  "$BIN" stop --data-dir "$DATA_DIR" --remove-volumes || "$BIN" stop --data-dir "$DATA_DIR" --force --remove-volumes || true
  exit "$rc"
}
trap stop_cluster EXIT
trap 'exit 130' INT TERM

# A cluster left over from an interrupted run is stopped and wiped first.
"$BIN" stop --data-dir "$DATA_DIR" --force --remove-volumes >/dev/null 2>&1 || true

echo "==> starting the test cluster"
"$BIN" start --env-file "$ENV_FILE" --data-dir "$DATA_DIR" --clean \
  || fail "the test cluster did not start (logs under $DATA_DIR)"

export TDA_KAFKA_TEST_BOOTSTRAP=127.0.0.1:29092,127.0.0.1:29093,127.0.0.1:29094
export TDA_KAFKA_TEST_REGISTRY_URL=http://127.0.0.1:28081/apis/ccompat/v7
export TDA_KAFKA_TEST_CONNECT_URL=http://127.0.0.1:28083
export TDA_KAFKA_TEST_REDIS=127.0.0.1:28379
export TDA_KAFKA_TEST_DATA_DIR_ROOT="$TARGET_DIR/tda-kafka-test"

echo "==> cargo test --workspace --all-targets"
# Cluster-lifecycle tests start their own clusters; one test thread per binary
# keeps a 2-core machine responsive.
# (RUST_TEST_THREADS, not `-- --test-threads`: criterion benches built as test
# targets do not take libtest flags.)
RUST_TEST_THREADS="${TDA_KAFKA_TEST_THREADS:-2}" cargo test --workspace --all-targets --no-fail-fast
echo "==> doc tests"
cargo test --workspace --doc
echo "==> all tests passed"
