"""What the user chose in the TUI and expects to find again next time (the theme), kept in the
data directory as `ui.json`. Plain Python: the app reads it at start and writes it in a thread.

A missing, unreadable or malformed file is an empty choice, never an error: a preference must
not stop a run from starting.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

FILE = "ui.json"


def load(data_dir: Path) -> dict[str, str]:
    try:
        found = json.loads((data_dir / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(found, dict):
        return {}
    return {k: v for k, v in found.items() if isinstance(k, str) and isinstance(v, str)}


def save(data_dir: Path, choices: dict[str, str]) -> None:
    """Write atomically (a temporary file renamed over the old one): never a half-written file."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / FILE
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(choices, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, path)
