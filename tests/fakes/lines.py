"""Prints COUNT numbered lines "PREFIX N" as fast as it can. Usage: lines.py PREFIX COUNT"""

import sys

prefix, count = sys.argv[1], int(sys.argv[2])
sys.stdout.write("".join(f"{prefix} {i}\n" for i in range(1, count + 1)))
