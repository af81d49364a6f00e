"""Writes numbered lines as fast as it can for SECONDS, then records how many it wrote.

Usage: counter_flood.py SECONDS COUNT_FILE. The count file lets a test prove the log is complete.
"""

import sys
import time

seconds, count_file = float(sys.argv[1]), sys.argv[2]
out = sys.stdout.buffer
n = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    block = "".join(f"{i}\n" for i in range(n, n + 2000)).encode()
    out.write(block)
    n += 2000
out.flush()
with open(count_file, "w") as f:
    f.write(str(n))
