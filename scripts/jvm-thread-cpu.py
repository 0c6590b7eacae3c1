#!/usr/bin/env python3
"""CPU seconds (utime + stime) a running JVM's threads used so far, summed
per thread name with its number stripped (GC Thread#0 and #1 -> GC Thread).

Usage: scripts/jvm-thread-cpu.py PID [PID ...]
e.g. right after `tda-kafka start` returns:
  scripts/jvm-thread-cpu.py $(pgrep -f kafka.Kafka)
"""
import collections
import os
import re
import sys

TICK = os.sysconf("SC_CLK_TCK")


def per_thread_name(pid):
    total = collections.Counter()
    for tid in os.listdir(f"/proc/{pid}/task"):
        base = f"/proc/{pid}/task/{tid}"
        try:
            name = open(f"{base}/comm").read().strip()
            stat = open(f"{base}/stat").read()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total[re.sub(r"[#\d\-]+$", "", name).strip()] += (int(fields[11]) + int(fields[12])) / TICK
    return total


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for pid in sys.argv[1:]:
        total = per_thread_name(pid)
        top = ", ".join(f"{k} {v:.2f}" for k, v in total.most_common(8))
        print(f"pid {pid}: {sum(total.values()):.2f} CPU-s; {top}")


if __name__ == "__main__":
    main()
