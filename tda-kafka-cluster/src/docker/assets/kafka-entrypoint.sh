#!/bin/bash
# tda-kafka local image entrypoint (generated into the image by `tda-kafka images build`).
#
#   broker   KRaft broker+controller configured from KAFKA_* variables, the
#            convention of the apache/kafka and confluentinc/cp-kafka images:
#            KAFKA_LOG_DIRS -> log.dirs ("_" -> ".", "__" -> "_", "___" -> "-").
#            CLUSTER_ID formats empty storage once (with the SCRAM users of the
#            mounted @argfile fragment TDA_KAFKA_FORMAT_ARGS names, if any);
#            data in log.dirs survives restarts. With zookeeper.connect
#            (ZooKeeper mode, the kafka-zk image) there is no storage format.
#   zookeeper LINE...  ZooKeeper ensemble node (kafka-zk image): the arguments
#            are the lines of its zoo.cfg; TDA_ZOOKEEPER_MYID its myid, written
#            into dataDir (a volume, so its data survives restarts).
#   connect  Kafka Connect distributed worker from CONNECT_* variables (same rule).
#            Secrets are never variables: TDA_KAFKA_SECRET_PROPERTIES names a
#            mounted properties file (read-only, 0600 on the host) that is
#            appended to the generated file, which only root may read.
#   class C  run Java class C with the Kafka classpath (e.g. the console producer).
set -euo pipefail

KAFKA_HOME=/opt/kafka
CP="$KAFKA_HOME/libs/*"
HEAP="${KAFKA_HEAP_OPTS:--Xmx512m -Xms512m}"
JVM_OPTS="${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20}"
# Kafka 4 logs through log4j 2; the ZooKeeper-mode image (Kafka 3.9,
# ZooKeeper 3.8) through log4j 1 (reload4j), and carries its configuration.
if [ -f "$KAFKA_HOME/config/log4j.properties" ]; then
    LOG4J="-Dlog4j.configuration=file:$KAFKA_HOME/config/log4j.properties"
    TOOLS_LOG4J="$LOG4J"
else
    LOG4J="-Dlog4j2.configurationFile=$KAFKA_HOME/config/log4j2.properties"
    TOOLS_LOG4J="-Dlog4j2.configurationFile=$KAFKA_HOME/config/tools-log4j2.properties"
fi

# props PREFIX FILE: write every PREFIX* variable as a property line, then
# the secret properties file named by TDA_KAFKA_SECRET_PROPERTIES, if any.
props() {
    local prefix="$1" file="$2" name value key
    : >"$file"
    chmod 600 "$file"
    while IFS='=' read -r -d '' name value; do
        case "$name" in
            "$prefix"*) ;;
            *) continue ;;
        esac
        case "$name" in
            KAFKA_HEAP_OPTS | KAFKA_JVM_PERFORMANCE_OPTS | KAFKA_OPTS | KAFKA_JMX_PORT | KAFKA_JMX_HOSTNAME | KAFKA_JMX_OPTS | KAFKA_LOG4J_OPTS) continue ;;
        esac
        key="${name#"$prefix"}"
        key="${key,,}"
        key="${key//___/-}"
        key="${key//__/@}"
        key="${key//_/.}"
        key="${key//@/_}"
        printf '%s=%s\n' "$key" "$value" >>"$file"
    done < <(env -0)
    if [ -n "${TDA_KAFKA_SECRET_PROPERTIES:-}" ]; then
        cat "$TDA_KAFKA_SECRET_PROPERTIES" >>"$file"
    fi
}

jmx_opts() {
    if [ -n "${KAFKA_JMX_PORT:-}" ]; then
        local host="${KAFKA_JMX_HOSTNAME:-127.0.0.1}"
        printf '%s' "-Dcom.sun.management.jmxremote -Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false -Dcom.sun.management.jmxremote.port=$KAFKA_JMX_PORT -Dcom.sun.management.jmxremote.rmi.port=$KAFKA_JMX_PORT -Djava.rmi.server.hostname=$host"
    fi
}

mode="${1:-broker}"
shift || true
case "$mode" in
    broker)
        conf="$KAFKA_HOME/config/server.properties"
        props KAFKA_ "$conf"
        logdir="$(sed -n 's/^log\.dirs=//p' "$conf" | cut -d, -f1)"
        if [ -n "$logdir" ] && [ ! -f "$logdir/meta.properties" ] && ! grep -q '^zookeeper\.connect=' "$conf"; then
            : "${CLUSTER_ID:?CLUSTER_ID is required to format new storage}"
            # The tool's arguments go through a java @argfile (0600, removed
            # after the format): TDA_KAFKA_FORMAT_ARGS names a mounted file of
            # `--add-scram` arguments, which hold passwords and must not show
            # in any process list.
            args="$(mktemp)"
            printf '"%s"\n' kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$conf" --ignore-formatted >"$args"
            if [ -n "${TDA_KAFKA_FORMAT_ARGS:-}" ]; then
                cat "$TDA_KAFKA_FORMAT_ARGS" >>"$args"
            fi
            rc=0
            java $LOG4J -cp "$CP" "@$args" || rc=$?
            rm -f "$args"
            [ "$rc" = 0 ] || exit "$rc"
        fi
        # shellcheck disable=SC2046
        exec java $HEAP $JVM_OPTS $(jmx_opts) ${KAFKA_OPTS:-} $LOG4J -cp "$CP" kafka.Kafka "$conf"
        ;;
    zookeeper)
        conf="$KAFKA_HOME/config/zoo.cfg"
        printf '%s\n' "$@" >"$conf"
        datadir="$(sed -n 's/^dataDir=//p' "$conf")"
        : "${datadir:?zoo.cfg needs dataDir}"
        mkdir -p "$datadir"
        printf '%s\n' "${TDA_ZOOKEEPER_MYID:?TDA_ZOOKEEPER_MYID is required}" >"$datadir/myid"
        # shellcheck disable=SC2046
        exec java $HEAP $JVM_OPTS $(jmx_opts) ${KAFKA_OPTS:-} $LOG4J -cp "$CP" org.apache.zookeeper.server.quorum.QuorumPeerMain "$conf"
        ;;
    connect)
        conf="$KAFKA_HOME/config/connect-distributed.properties"
        props CONNECT_ "$conf"
        exec java $HEAP $JVM_OPTS ${KAFKA_OPTS:-} $LOG4J -cp "$CP" org.apache.kafka.connect.cli.ConnectDistributed "$conf"
        ;;
    class)
        cls="$1"
        shift
        exec java ${TOOL_HEAP_OPTS:--Xmx256m} $TOOLS_LOG4J -cp "$CP" "$cls" "$@"
        ;;
    *)
        exec "$mode" "$@"
        ;;
esac
