#!/usr/bin/python3
# Interleaved timing for benchmarks: every round runs each command once, in turn, so load
# changes hit all commands alike; prints the median wall and CPU (user+sys) time of each.
#   /usr/bin/python3 scripts/time-interleaved.py ROUNDS CMD...
import os, subprocess, sys, time, statistics
rounds = int(sys.argv[1]); cmds = sys.argv[2:]
wall = {c: [] for c in cmds}; cpu = {c: [] for c in cmds}
for c in cmds:  # warm-up
    subprocess.run(c, shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
for _ in range(rounds):
    for c in cmds:
        t0 = time.perf_counter()
        p = subprocess.Popen(["/bin/sh", "-c", "exec " + c], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, st, ru = os.wait4(p.pid, 0)
        wall[c].append(time.perf_counter() - t0); cpu[c].append(ru.ru_utime + ru.ru_stime)
        assert st == 0, c
for c in cmds:
    print(f"wall median {statistics.median(wall[c])*1e3:7.2f} ms  cpu median {statistics.median(cpu[c])*1e3:7.2f} ms  {c}")
