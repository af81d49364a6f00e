"""Widgets of the TUI; each owns its DEFAULT_CSS."""
