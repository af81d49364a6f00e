"""Draws over its own output, one step each time the test lets it (a file `GATE/go<N>` appears).

drawing.py progress GATE   a `\\r` progress bar: `fetch 1/3`, `fetch 2/3`, ... then `fetched`
drawing.py layers GATE     docker-style: two lines, rewritten in place with cursor-up
drawing.py long GATE       a long line early on, short ones, another long one; a last line at go1
"""

import os
import sys
import time
from pathlib import Path

mode, gate = sys.argv[1], Path(sys.argv[2])


def wait(step: int) -> None:
    while not (gate / f"go{step}").exists():
        time.sleep(0.02)


def say(text: str) -> None:
    os.write(1, text.encode())


if mode == "progress":
    for step in (1, 2, 3):
        say(f"\rfetch {step}/3 " + "#" * step)
        wait(step)
    say("\rfetched      \n")
elif mode == "layers":
    say("layer a: 10%\nlayer b: 10%\n")
    wait(1)
    say("\x1b[2Alayer a: 50%\x1b[K\nlayer b: 70%\x1b[K\n")
    wait(2)
    say("\x1b[2Alayer a: done\x1b[K\nlayer b: done\x1b[K\n")
    wait(3)
elif mode == "long":
    say("early " + "y" * 250 + " NEEDLE\n")
    say("".join(f"short {n}\n" for n in range(60)))
    say("START" + "x" * 300 + "END\n")
    wait(1)
    say("after the gate\n")
    wait(2)
