"""Prints "NAME TIME" every INTERVAL seconds, COUNT times (TIME: time.time() when printed)."""

import sys
import time

name, interval, count = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
for _ in range(count):
    print(f"{name} {time.time():.3f}", flush=True)
    time.sleep(interval)
