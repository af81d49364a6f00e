"""Asks `Proceed? [y/N] ` on an unfinished line, waits for the answer on stdin, says what it got;
exits 0 for `y`, 1 for anything else (or end of input).

With --hold it never reads: it waits at the prompt until a signal ends it (for tests of what a
prompt looks like to the engine, whatever the task's stdin is)."""

import sys
import time

sys.stdout.write("about to deploy\nProceed? [y/N] ")
sys.stdout.flush()
if "--hold" in sys.argv:
    while True:
        time.sleep(0.05)
answer = sys.stdin.readline().strip()
print(f"answer: {answer!r}")
sys.exit(0 if answer == "y" else 1)
