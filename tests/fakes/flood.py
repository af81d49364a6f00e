"""Writes a large, awkward byte stream to stdout and the same bytes to a reference file.

Lines of random lengths (some empty, some over 64 KiB), invalid UTF-8, CRLF, a 10 MB line with no
newline at the very end. Usage: flood.py REFERENCE_PATH TOTAL_MB SEED
"""

import os
import random
import sys

ref_path, total_mb, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789 \t\xc3\xa9\xe2\x82\xac"
out = sys.stdout.buffer
budget = total_mb * 1024 * 1024 - 10 * 1024 * 1024
with open(ref_path, "wb") as ref:

    def emit(data: bytes) -> None:
        out.write(data)
        ref.write(data)

    written = 0
    while written < budget:
        kind = rng.random()
        if kind < 0.01:
            line = os.urandom(rng.randint(1, 200))  # invalid UTF-8 and stray control bytes
        elif kind < 0.015:
            line = b"x" * rng.randint(64 * 1024, 300 * 1024)
        else:
            line = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 120)))
        end = b"\r\n" if rng.random() < 0.05 else b"\n"
        emit(line + end)
        written += len(line) + len(end)
    emit(b"y" * (10 * 1024 * 1024))  # a 10 MB line without a newline
out.flush()
