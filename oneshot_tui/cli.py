"""Command line (placeholder until the CLI issue)."""


def main() -> int:
    return 0
