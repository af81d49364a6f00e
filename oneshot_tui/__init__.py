"""oneshot-tui: run many AI coding agents and shell commands in parallel; watch and steer them live.

This module stays import-light on purpose: `oneshot-tui --help` and headless runs must not pay for
Textual (see tests/unit/test_import_hygiene.py).
"""

__version__ = "0.1.0"
