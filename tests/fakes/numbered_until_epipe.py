"""Writes numbered lines to stdout until a write fails (EPIPE: the reader died), then records
how many bytes the kernel had accepted and the pipe's capacity, as JSON in RECORD_FILE.

Usage: numbered_until_epipe.py RECORD_FILE. The stream is `%09d\\n` for 0, 1, 2, ..., so the
bytes up to any offset are known exactly.
"""

import fcntl
import json
import os
import sys

F_GETPIPE_SZ = 1032
LINES_PER_WRITE = 100

record_file = sys.argv[1]
capacity = fcntl.fcntl(1, F_GETPIPE_SZ)
accepted = 0
"""Bytes that every successful write() handed to the kernel, in order."""
n = 0
try:
    while True:
        view = memoryview("".join(f"{i:09d}\n" for i in range(n, n + LINES_PER_WRITE)).encode())
        while view:
            done = os.write(1, view)
            accepted += done
            view = view[done:]
        n += LINES_PER_WRITE
except OSError:
    pass
with open(record_file + ".tmp", "w") as f:
    json.dump({"accepted": accepted, "capacity": capacity}, f)
os.rename(record_file + ".tmp", record_file)
