"""Prints a short build log with colours, a progress line rewritten with \\r, a tab and escape
sequences that must never reach the terminal (a window title, a cursor move, a bell)."""

lines = [
    "\x1b[1;34m==>\x1b[0m fetch",
    "\x1b[32m✔\x1b[0m 12 packages up to date",
    "downloading  10%\rdownloading  55%\rdownloading 100%",
    "\x1b[1;34m==>\x1b[0m compile",
    "\x1b]0;evil window title\x07compiling\tsrc/main.rs\x1b[2;1H\x07",
    "\x1b[33mwarning\x1b[0m: unused variable `needle` in src/main.rs:12",
    "\x1b[1;34m==>\x1b[0m test",
    "test parser ... \x1b[32mok\x1b[0m",
    "test needle_in_haystack ... \x1b[32mok\x1b[0m",
    "\x1b[1;32mbuild ok\x1b[0m",
]
print("\n".join(lines), flush=True)
