#!/usr/bin/env python3
"""Drain3 throughput on the Loghub 2k samples (https://github.com/logpai/loghub).

Usage: drain3_bench.py [DIR] [--repeat R]

For each of the 8 sets (HDFS, Hadoop, Spark, Zookeeper, OpenSSH, Apache,
HealthApp, Proxifier), one fresh drain3.TemplateMiner with its default
configuration (no masking instructions, no persistence) receives the raw
<Set>_2k.log lines R times over (default 5): the same sequence the Rust side
(logparse/examples/mine_throughput.rs) mines. Only the add_log_message loop
is timed. Prints per-set lines/s and a final `drain3_lines_per_sec=` line.
"""
import logging
import os
import sys
import time

from drain3 import TemplateMiner

SETS = ["HDFS", "Hadoop", "Spark", "Zookeeper", "OpenSSH", "Apache", "HealthApp", "Proxifier"]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    d = os.path.join(here, "..", "..", "..", "shared", "data", "loghub")
    repeat = 5
    args = sys.argv[1:]
    i = 0
    while i < len(args):
        if args[i] == "--repeat":
            repeat = int(args[i + 1])
            i += 2
        else:
            d = args[i]
            i += 1
    logging.disable(logging.CRITICAL)  # drain3 logs every new cluster at INFO
    total_lines = 0
    total_time = 0.0
    for s in SETS:
        with open(os.path.join(d, s, f"{s}_2k.log"), encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
        miner = TemplateMiner()  # default TemplateMinerConfig, no persistence
        t0 = time.perf_counter()
        for _ in range(repeat):
            for line in lines:
                miner.add_log_message(line)
        dt = time.perf_counter() - t0
        n = len(lines) * repeat
        total_lines += n
        total_time += dt
        print(f"{s:<10} {n / dt:>12.0f} lines/s  clusters={len(miner.drain.clusters)}")
    print(f"drain3_lines_per_sec={total_lines / total_time:.0f} lines={total_lines}")


if __name__ == "__main__":
    main()
