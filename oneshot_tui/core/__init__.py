"""States, events, the event bus and the clock: the vocabulary every other package shares.

Nothing here imports the rest of oneshot_tui, and nothing here imports a UI library.
"""
