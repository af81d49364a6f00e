"""Ignores SIGINT and SIGTERM, and forks a grandchild that ignores them too.

Prints "child PID" and "grandchild PID", then waits to be killed.
"""

import os
import signal
import sys
import time

signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
pid = os.fork()
if pid == 0:
    print(f"grandchild {os.getpid()}", flush=True)
    while True:
        time.sleep(1)
print(f"child {os.getpid()}", flush=True)
sys.stdout.flush()
while True:
    time.sleep(1)
