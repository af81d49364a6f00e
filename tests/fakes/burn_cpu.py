"""Uses SECONDS of CPU time by its own count (not the wall clock's), then exits 0.
Usage: burn_cpu.py SECONDS"""

import os
import sys

want = float(sys.argv[1])
start = os.times()
while (os.times().user + os.times().system) - (start.user + start.system) < want:
    pass
