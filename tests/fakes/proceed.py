"""Asks `Proceed? [y/N]` on its terminal and says what it read (a PTY task's input)."""

import sys

print("about to deploy", flush=True)
answer = input("Proceed? [y/N] ")
print(f"answer: {answer!r}", flush=True)
print("proceeding" if answer.strip().lower() == "y" else "aborted", flush=True)
sys.exit(0 if answer.strip().lower() == "y" else 1)
