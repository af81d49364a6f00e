"""A progress loop that never ends its line: `progress N\\r` over and over, TOTAL_MB in all,
then exits (no newline anywhere). Usage: progress.py TOTAL_MB"""

import os
import sys

total = int(sys.argv[1]) * 1024 * 1024
record = b"".join(b"progress %7d\r" % i for i in range(4096))
written = 0
while written < total:
    view = memoryview(record)[: total - written]
    while view:
        n = os.write(1, view)
        written += n
        view = view[n:]
