"""The history schema, as ordered migration steps; `PRAGMA user_version` says how many have run.

Never edit a step that has shipped: add a new one at the end. Each step runs in its own
transaction together with the version bump, so a crash leaves the file at one version or the next.
Times are wall-clock seconds since the epoch (REAL); durations are seconds.
"""

from __future__ import annotations

import sqlite3

STEP_1_HISTORY = (
    # One row per run. `status` is live, finished or lost; `pid`, `pid_start` (clock ticks since
    # boot) and `boot_id` identify the process that owns a live run, so a crashed run is noticed.
    """
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        started REAL NOT NULL,
        ended REAL,
        status TEXT NOT NULL DEFAULT 'live',
        exit_code INTEGER,
        signal INTEGER,
        argv TEXT NOT NULL DEFAULT '[]',
        cwd TEXT NOT NULL DEFAULT '',
        task_file TEXT,
        task_file_sha256 TEXT,
        settings TEXT NOT NULL DEFAULT '{}',
        log_dir TEXT NOT NULL DEFAULT '',
        host TEXT NOT NULL DEFAULT '',
        pid INTEGER NOT NULL,
        pid_start INTEGER,
        boot_id TEXT,
        rerun_of TEXT
    )
    """,
    "CREATE INDEX runs_by_start ON runs (started)",
    "CREATE INDEX runs_by_status ON runs (status)",
    # The latest state of each task; `spec` is the TaskSpec as JSON (what `rerun` starts again).
    """
    CREATE TABLE tasks (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        position INTEGER NOT NULL,
        kind TEXT NOT NULL DEFAULT 'command',
        command TEXT NOT NULL DEFAULT '',
        spec TEXT,
        state TEXT NOT NULL DEFAULT 'created',
        reason TEXT NOT NULL DEFAULT '',
        exit_code INTEGER,
        signal INTEGER,
        attempts INTEGER NOT NULL DEFAULT 1,
        started REAL,
        ended REAL,
        duration REAL,
        log_path TEXT,
        PRIMARY KEY (run_id, name)
    )
    """,
    # One row per attempt that got as far as starting a process (it has a log file).
    """
    CREATE TABLE attempts (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        task TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        log_path TEXT,
        started REAL,
        ended REAL,
        state TEXT,
        exit_code INTEGER,
        signal INTEGER,
        duration REAL,
        reason TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (run_id, task, attempt)
    )
    """,
    # Every lifecycle transition, in the order it happened (`seq`).
    """
    CREATE TABLE transitions (
        seq INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        task TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        ts REAL NOT NULL,
        source TEXT NOT NULL,
        target TEXT NOT NULL,
        event TEXT NOT NULL DEFAULT '',
        reason TEXT NOT NULL DEFAULT ''
    )
    """,
    "CREATE INDEX transitions_by_run ON transitions (run_id, seq)",
    # Every process a task started; `ended` is set when its attempt ends (the orchestrator stops
    # the whole group first). An open row of a dead run may be an orphan for `cleanup`.
    """
    CREATE TABLE processes (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        task TEXT NOT NULL,
        attempt INTEGER NOT NULL,
        pid INTEGER NOT NULL,
        start_ticks INTEGER,
        boot_id TEXT,
        label TEXT NOT NULL DEFAULT '',
        started REAL NOT NULL,
        ended REAL
    )
    """,
    "CREATE INDEX processes_by_run ON processes (run_id, task, attempt)",
)

STEP_2_AGENT_FIELDS = tuple(
    f"ALTER TABLE tasks ADD COLUMN {column}"
    for column in (
        "executor TEXT",
        "model TEXT",
        "iterations INTEGER",
        "verdict TEXT",
        "input_tokens INTEGER",
        "output_tokens INTEGER",
        "cost_usd REAL",
        "agent_session_id TEXT",
    )
)

STEP_3_WORKTREES = tuple(
    f"ALTER TABLE tasks ADD COLUMN {column}"
    for column in (
        # Set when a worktree task's worktree is made: where, on which branch, from what.
        "worktree TEXT",
        "worktree_cwd TEXT",
        "repo TEXT",
        "branch TEXT",
        "base_ref TEXT",
        "base_commit TEXT",
        "worktree_created REAL",
        # Set after each attempt: the worktree's HEAD, and the diff stats as JSON
        # ({"committed": {"files", "insertions", "deletions"}, "uncommitted": ..., "total": ...,
        # "error": "..."}).
        "final_commit TEXT",
        "commits INTEGER",
        "diff_stat TEXT",
        # Set by `worktrees clean` when it removed the worktree and its branch.
        "worktree_removed REAL",
    )
)

STEP_4_STATS = (
    *(
        f"ALTER TABLE tasks ADD COLUMN {column}"
        for column in (
            # Over every attempt, from the task's totals: tool calls, and whether the cost and
            # tokens are estimates (1) or what the agent reported (0).
            "tool_calls INTEGER",
            "cost_estimated INTEGER",
            # CPU seconds (user + system) of the task's processes and what they waited for,
            # summed over its attempts; NULL where the platform could not say.
            "cpu_seconds REAL",
            # New attempts by `restart` (user, idle policy, lost node), and pauses before trying
            # again after a rate or usage limit.
            "restarts INTEGER NOT NULL DEFAULT 0",
            "retries INTEGER NOT NULL DEFAULT 0",
        )
    ),
    # `stats` reads a window of runs by start time (runs_by_start) and their tasks by run_id
    # (the tasks primary key): one pass, no further index needed.
)

STEP_5_MERGES = (
    # One row per merge back (`oneshot-tui merge`, `M`): what was merged into what, how, and the
    # commit it gave; `kind` is fast-forward, merge commit, squash, up to date or pushed.
    """
    CREATE TABLE merges (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        task TEXT NOT NULL,
        ts REAL NOT NULL,
        kind TEXT NOT NULL,
        branch TEXT NOT NULL,
        into_ref TEXT NOT NULL,
        commit_id TEXT NOT NULL,
        commits INTEGER NOT NULL,
        note TEXT NOT NULL DEFAULT ''
    )
    """,
    "CREATE INDEX merges_by_run ON merges (run_id, task)",
)

STEP_6_NODES = (
    # The cluster node (its IP address) a process ran on; '' for a process on the run's own
    # machine. `cleanup` reaches a lost run's processes on a node through its Ray cluster, by
    # each open attempt's marker (`<run>/<task>/<attempt>`, rebuilt from the row).
    "ALTER TABLE processes ADD COLUMN node TEXT NOT NULL DEFAULT ''",
    # The Ray cluster a run of the ray backend used, as it was given to Ray (HOST:PORT, or
    # "auto": the cluster started on the run's machine); NULL for a local run.
    "ALTER TABLE runs ADD COLUMN ray_address TEXT",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    STEP_1_HISTORY,
    STEP_2_AGENT_FIELDS,
    STEP_3_WORKTREES,
    STEP_4_STATS,
    STEP_5_MERGES,
    STEP_6_NODES,
)
"""Step N (1-based) takes the file from version N-1 to version N."""

LATEST = len(MIGRATIONS)


class SchemaTooNew(Exception):
    """The file was written by a newer oneshot-tui; we must not write to it."""

    def __init__(self, found: int) -> None:
        self.found = found
        super().__init__(
            f"it was written by a newer oneshot-tui (schema {found}; this one knows {LATEST})"
        )


def version(conn: sqlite3.Connection) -> int:
    value: int = conn.execute("PRAGMA user_version").fetchone()[0]
    return value


def migrate(conn: sqlite3.Connection, target: int = LATEST) -> int:
    """Bring the file up to `target`, one step per transaction; returns the version reached.

    Safe against another process migrating at the same time: each step re-reads the version
    inside a write transaction. `conn` must be in autocommit mode (isolation_level=None).
    """
    current = version(conn)
    if current > LATEST:
        raise SchemaTooNew(current)
    while current < target:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = version(conn)
            if current < target:
                for statement in MIGRATIONS[current]:
                    conn.execute(statement)
                current += 1
                conn.execute(f"PRAGMA user_version = {current}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return current
