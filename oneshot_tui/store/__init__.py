"""Where runs keep their files: the data dir, run ids, log paths (and, later, the history DB)."""
