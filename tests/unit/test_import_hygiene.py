"""Headless code never loads Textual or Rich: every module outside `oneshot_tui.ui` is imported in
a fresh interpreter of its own, and neither library may appear in `sys.modules` afterwards (a
headless run, `--help` and the history commands must not pay for them, and a Rich import
anywhere in the engine would be the start of UI code in the wrong layer)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import oneshot_tui

UI_ONLY = ("oneshot_tui.ui",)
OPTIONAL = ("oneshot_tui.runner.ray_backend", "oneshot_tui.runner.ray_hosts")
"""The ray backend imports Ray (an optional extra, which brings its own dependencies)."""


def headless_modules() -> list[str]:
    names = [
        info.name
        for info in pkgutil.walk_packages(oneshot_tui.__path__, "oneshot_tui.")
        if not info.name.startswith(UI_ONLY)
        and info.name not in OPTIONAL
        and not info.name.endswith(".__main__")  # runs the command line
    ]
    return sorted(["oneshot_tui", *names])


CHECK = """
import importlib, sys
importlib.import_module(sys.argv[1])
bad = sorted({m.split(".")[0] for m in sys.modules} & {"textual", "rich"})
print(" ".join(bad))
"""


def test_the_walk_finds_the_packages_it_should() -> None:
    modules = headless_modules()
    for expected in ("oneshot_tui.cli", "oneshot_tui.headless.run", "oneshot_tui.core.wire"):
        assert expected in modules
    assert not [m for m in modules if m.startswith("oneshot_tui.ui")]


@pytest.mark.parametrize("module", headless_modules())
def test_a_headless_module_imports_neither_textual_nor_rich(module: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CHECK, module], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", f"{module} loads {proc.stdout.strip()}"
