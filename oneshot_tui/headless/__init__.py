"""Headless mode: bus events to prefixed whole lines or NDJSON on stdout, a summary on stderr."""
