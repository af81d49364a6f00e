"""Where runs keep their files: the data dir, run ids, log paths, and the history (SQLite).

Readers (CLI, TUI) start from `History.open(data_dir)`; a run is recorded with
`record_history(orchestrator)`.
"""
