"""Draws over its own output, one step each time the test lets it (a file `GATE/go<N>` appears).

drawing.py progress GATE   a `\\r` progress bar: `fetch 1/3`, `fetch 2/3`, ... then `fetched`
drawing.py layers GATE     docker-style: two lines, rewritten in place with cursor-up
drawing.py long GATE       a long line early on, short ones, another long one; a last line at go1
drawing.py pull GATE       docker-pull-style coloured layer bars redrawn in place; go1 goes on
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
elif mode == "pull":
    layers = [("a1b2c3d4", 31.0), ("e5f6a7b8", 97.1), ("c9d0e1f2", 40.3)]
    say("Pulling \x1b[1mregistry.local/app:3.11\x1b[0m\n")
    say("".join("\n" for _ in layers))
    for step in range(1, 11):
        say(f"\x1b[{len(layers)}A")
        for n, (layer, size) in enumerate(layers):
            done = min(step * (3 - n) / 10, 1.0)
            if done >= 1.0:
                say(f"\x1b[32m{layer}\x1b[0m: Pull complete\x1b[K\n")
                continue
            bar = "=" * int(done * 30) + ">" + " " * (30 - int(done * 30))
            got = f"{done * size:.1f}MB/{size:.1f}MB"
            say(f"\x1b[33m{layer}\x1b[0m: Downloading [\x1b[36m{bar}\x1b[0m] {got}\x1b[K\n")
        if step == 4:
            wait(1)  # mid-pull: two bars still moving
    wait(2)
