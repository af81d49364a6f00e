"""Prints "tick N" for N = 0, 1, 2, ... every INTERVAL seconds, for ever. Usage: counter.py INTERVAL"""

import sys
import time

interval = float(sys.argv[1])
n = 0
while True:
    print(f"tick {n}", flush=True)
    n += 1
    time.sleep(interval)
