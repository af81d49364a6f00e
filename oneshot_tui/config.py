"""Task files, config files and flags (filled in by the CLI issue)."""
