#!/usr/bin/env python3
"""Independent cross-checks for the integration tests (python confluent_kafka).

Never used by the product. Usage:
  peer.py BOOTSTRAP alter-config TOPIC KEY VALUE   # incremental alter, like a human would
  peer.py BOOTSTRAP describe TOPIC                 # JSON: partitions, replicas, isr, set configs
  peer.py BOOTSTRAP watermarks TOPIC               # JSON: {partition: [low, high]}
  peer.py BOOTSTRAP committed GROUP TOPIC          # JSON: {partition: offset or null}
"""
import json
import sys

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry,
                                   ConfigResource, ResourceType)

boot, cmd, *args = sys.argv[1:]
admin = AdminClient({"bootstrap.servers": boot})


def partitions(topic):
    md = admin.list_topics(topic=topic, timeout=10)
    return md.topics[topic].partitions


if cmd == "alter-config":
    topic, key, value = args
    res = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)])
    for f in admin.incremental_alter_configs([res]).values():
        f.result(timeout=10)
    print("ok")
elif cmd == "describe":
    (topic,) = args
    parts = partitions(topic)
    res = ConfigResource(ResourceType.TOPIC, topic)
    cfg = list(admin.describe_configs([res]).values())[0].result(timeout=10)
    out = {
        "partitions": {str(p): {"leader": v.leader, "replicas": v.replicas, "isr": v.isrs}
                       for p, v in parts.items()},
        "configs": {k: e.value for k, e in cfg.items()
                    if e.source == 1},  # DYNAMIC_TOPIC_CONFIG
    }
    print(json.dumps(out))
elif cmd == "watermarks":
    (topic,) = args
    c = Consumer({"bootstrap.servers": boot, "group.id": "peer-watermarks"})
    out = {str(p): list(c.get_watermark_offsets(TopicPartition(topic, p), timeout=10))
           for p in partitions(topic)}
    c.close()
    print(json.dumps(out))
elif cmd == "committed":
    group, topic = args
    c = Consumer({"bootstrap.servers": boot, "group.id": group})
    tps = [TopicPartition(topic, p) for p in partitions(topic)]
    out = {str(tp.partition): (tp.offset if tp.offset >= 0 else None)
           for tp in c.committed(tps, timeout=10)}
    c.close()
    print(json.dumps(out))
else:
    sys.exit(f"unknown command {cmd}")
