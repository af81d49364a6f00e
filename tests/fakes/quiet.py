"""Prints its first argument (if any), then stays silent until SIGUSR1, then prints "awake" and
waits again; SIGUSR2 makes it exit 0. With --silent it prints nothing at all."""

import signal
import sys
import time


def on_usr1(signum: int, frame: object) -> None:
    print("awake", flush=True)


def on_usr2(signum: int, frame: object) -> None:
    sys.exit(0)


def on_int(signum: int, frame: object) -> None:
    sys.exit(130)


signal.signal(signal.SIGINT, on_int)
signal.signal(signal.SIGUSR1, on_usr1)
signal.signal(signal.SIGUSR2, on_usr2)
if len(sys.argv) > 1 and sys.argv[1] != "--silent":
    print(sys.argv[1], flush=True)
while True:
    time.sleep(0.05)
