"""Small real programs the tests run as child processes."""

from pathlib import Path

FAKES = Path(__file__).parent


def fake(name: str) -> str:
    return str(FAKES / name)
