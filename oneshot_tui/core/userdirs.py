"""The user's data and config directories of oneshot-tui, as platformdirs names them.

On Linux with the usual environment (an absolute `$XDG_*_HOME`, or an absolute `$HOME`) the XDG
rule is applied here: importing platformdirs costs every run a few milliseconds at start-up (it
reads the user config on each run). Anything else (another platform, an odd `$HOME`) asks
platformdirs itself.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "oneshot-tui"
_XDG = {"data": ("XDG_DATA_HOME", ".local/share"), "config": ("XDG_CONFIG_HOME", ".config")}


def user_dir(kind: str) -> Path:
    """`platformdirs.user_data_dir(APP)` for "data", `user_config_dir(APP)` for "config"."""
    var, default = _XDG[kind]
    if sys.platform.startswith("linux"):
        xdg = os.environ.get(var, "")
        if os.path.isabs(xdg):
            return Path(xdg, APP)
        home = os.environ.get("HOME", "")
        if os.path.isabs(home):
            return Path(home, default, APP)
    import platformdirs

    if kind == "data":
        return Path(platformdirs.user_data_dir(APP, appauthor=False))
    return Path(platformdirs.user_config_dir(APP, appauthor=False))
