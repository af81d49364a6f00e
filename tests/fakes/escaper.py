"""Double-forks a great-grandchild that calls setsid() to leave the task's process group and
session, ignores SIGINT/SIGTERM, and lives on. Prints "escaped PID" then waits."""

import os
import signal
import sys
import time

signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
read_end, write_end = os.pipe()
if os.fork() == 0:
    if os.fork() == 0:
        os.setsid()
        os.close(read_end)
        os.write(write_end, f"{os.getpid()}\n".encode())
        os.close(write_end)
        # Keep stdout open too, like a daemon that forgot to close it.
        while True:
            time.sleep(1)
    os._exit(0)
os.close(write_end)
pid = os.read(read_end, 64).decode().strip()
print(f"escaped {pid}", flush=True)
if len(sys.argv) > 1 and sys.argv[1] == "--exit":
    sys.exit(0)
while True:
    time.sleep(1)
