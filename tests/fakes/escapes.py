"""Prints terminal escape sequences that try to get out of a pane, between two plain lines, then
waits: window titles (OSC 0 and 2), an OSC 52 clipboard write (also wrapped in a tmux DCS
passthrough), leaving and re-entering the alternate screen, cursor moves to the top-left and
far corner, a screen clear, a full reset. Each payload is tagged PWNED so a test can look for it.
"""

import base64
import sys
import time

clip = base64.b64encode(b"PWNED-CLIPBOARD").decode()
sequences = [
    "\x1b]0;PWNED-TITLE\x07",
    "\x1b]2;PWNED-TITLE2\x1b\\",
    f"\x1b]52;c;{clip}\x07",
    f"\x1bPtmux;\x1b\x1b]52;c;{clip}\x07\x1b\\",
    "\x1b[?1049l",
    "\x1b[1;1HPWNED-HOME",
    "\x1b[2J",
    "\x1b[999;999HPWNED-CORNER",
    "\x1b[?1049h",
    "\x1b[10;10r",  # a scroll region
    "\x1bc",  # full reset
    "\x1b[?25l",  # hide the cursor
]
sys.stdout.write("before the escapes\n")
sys.stdout.write("".join(sequences) + " after the escapes\n")
sys.stdout.flush()
if "--exit" in sys.argv:
    sys.exit(0)
while True:
    time.sleep(1)
