"""The pure parts of worktree support: branch names, diff parsing, stats and their text."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from oneshot_tui.cli.worktrees import age_text
from oneshot_tui.config import ConfigError, load_run_config
from oneshot_tui.config.fields import seconds
from oneshot_tui.core.events import TaskResult
from oneshot_tui.core.report import summary_lines
from oneshot_tui.core.states import TaskState
from oneshot_tui.core.worktree import DiffStat, WorktreeInfo, WorktreeSummary
from oneshot_tui.workspace import LineKind, branch_name, parse_diff
from oneshot_tui.workspace.inspect import parse_numstat


@pytest.mark.parametrize(
    ("task", "component"),
    [
        ("fix-tests", "fix-tests"),
        ("fix the tests", "fix-the-tests"),
        ("a..b", "a.b"),
        (".hidden", "hidden"),
        ("-dash", "dash"),
        ("name.lock", "name-lock"),
        ("tilde~caret^colon:star*[q?]", "tilde-caret-colon-star-q"),
        ("back\\slash@{x}", "back-slash-x"),
        ("ünïcödé", "n-c-d"),
        ("...", "task"),
        ("trailing.", "trailing"),
    ],
)
def test_branch_names_follow_git_ref_rules(task: str, component: str) -> None:
    name = branch_name("20261129-061502-3fa9", task)
    assert name == f"oneshot/20261129-061502-3fa9/{component}"
    check = subprocess.run(["git", "check-ref-format", "--branch", name], capture_output=True)
    assert check.returncode == 0, name


def test_numstat_counts_files_lines_binaries_and_renames() -> None:
    data = b"3\t1\tsrc/a.py\x00-\t-\timage.png\x002\t0\t\x00old name.txt\x00new name.txt\x00"
    assert parse_numstat(data) == DiffStat(files=3, insertions=5, deletions=1)
    assert parse_numstat(b"") == DiffStat()


DIFF = """\
diff --git a/src/app.py b/src/app.py
index 1111111..2222222 100644
--- a/src/app.py
+++ b/src/app.py
@@ -1,3 +1,4 @@ def main():
 print('hi')
-print('old')
+print('new')
+print('more')
 end
\\ No newline at end of file
diff --git a/notes.txt b/notes.txt
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/notes.txt
@@ -0,0 +1 @@
+--- not a header
diff --git a/gone.txt b/gone.txt
deleted file mode 100644
index 4444444..0000000
--- a/gone.txt
+++ /dev/null
@@ -1 +0,0 @@
-bye
diff --git a/old.txt b/new.txt
similarity index 100%
rename from old.txt
rename to new.txt
diff --git a/logo.png b/logo.png
index 5555555..6666666 100644
Binary files a/logo.png and b/logo.png differ
diff --git a/run.sh b/run.sh
old mode 100644
new mode 100755
"""


def test_a_diff_parses_into_files_and_hunks() -> None:
    files = parse_diff(DIFF)
    assert [(f.path, f.status) for f in files] == [
        ("src/app.py", "modified"),
        ("notes.txt", "added"),
        ("gone.txt", "deleted"),
        ("new.txt", "renamed"),
        ("logo.png", "modified"),
        ("run.sh", "mode"),
    ]
    app, notes, gone, renamed, logo, _ = files
    [hunk] = app.hunks
    assert (hunk.old_start, hunk.old_lines, hunk.new_start, hunk.new_lines) == (1, 3, 1, 4)
    assert hunk.header.endswith("def main():")
    assert [line.kind for line in hunk.lines] == [
        LineKind.CONTEXT,
        LineKind.REMOVED,
        LineKind.ADDED,
        LineKind.ADDED,
        LineKind.CONTEXT,
        LineKind.NOTE,
    ]
    assert (app.added, app.removed) == (2, 1)
    assert notes.old_path is None and notes.hunks[0].lines[0].text == "--- not a header"
    assert gone.new_path is None and gone.removed == 1
    assert (renamed.old_path, renamed.new_path, renamed.hunks) == ("old.txt", "new.txt", [])
    assert logo.binary


def info(path: str = "/data/worktrees/r/t") -> WorktreeInfo:
    return WorktreeInfo("/repo", path, "oneshot/r/t", "a" * 40, "main", path)


def test_changes_text_says_commits_stats_and_what_is_uncommitted() -> None:
    clean = WorktreeSummary(info(), "b" * 40, 2, DiffStat(3, 10, 2), DiffStat(), DiffStat(3, 10, 2))
    assert clean.changes_text() == "2 commits, 3 files +10 -2"
    dirty = WorktreeSummary(
        info(), "b" * 40, 1, DiffStat(1, 1, 0), DiffStat(1, 4, 1), DiffStat(2, 5, 1)
    )
    assert dirty.changes_text() == "1 commit, 2 files +5 -1 (1 file +4 -1 uncommitted)"
    nothing = WorktreeSummary(info(), "a" * 40)
    assert nothing.changes_text() == "0 commits, no changes"
    broken = WorktreeSummary(info(), None, error="the worktree /x is gone")
    assert broken.changes_text() == "not inspected: the worktree /x is gone"


def test_the_summary_adds_a_worktree_table_only_when_a_task_had_one() -> None:
    plain = TaskResult("build", TaskState.COMPLETED, 0, None, 1, 1.0, "/l/build.log")
    assert len(summary_lines([plain])) == 3  # the table, then where the logs are
    summary = WorktreeSummary(info(), "b" * 40, 1, DiffStat(1, 1, 0), DiffStat(), DiffStat(1, 1, 0))
    agent = TaskResult("t", TaskState.COMPLETED, 0, None, 1, 1.0, "/l/t.log", worktree=summary)
    lines = summary_lines([plain, agent])
    assert lines[3] == "logs in /l/" and lines[4] == ""
    assert lines[5].split() == ["TASK", "BRANCH", "CHANGES", "WORKTREE"]
    row = ["t", "oneshot/r/t", "1", "commit,", "1", "file", "+1", "-0", "/data/worktrees/r/t"]
    assert lines[6].split() == row


def test_ages_and_day_durations() -> None:
    assert [age_text(s) for s in (None, 5, 61, 7200, 3 * 86400 + 5)] == [
        "-",
        "5s",
        "1m",
        "2h",
        "3d",
    ]
    assert seconds("7d") == 7 * 86400 and seconds("12h") == 12 * 3600


def test_worktree_is_a_task_key_with_a_run_default_and_a_flag(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks.toml"
    tasks.write_text(
        '[run]\nworktree = true\n\n[[task]]\nname = "in"\ncommand = "true"\n\n'
        '[[task]]\nname = "out"\ncommand = "true"\nworktree = false\n'
    )
    config = load_run_config(tasks, cwd=tmp_path, user_config=tmp_path / "none.toml")
    assert [(s.name, s.policy.worktree) for s in config.specs] == [("in", True), ("out", False)]
    flagged = load_run_config(
        None, commands=["true"], flags={"worktree": True}, cwd=tmp_path, user_config=tmp_path
    )
    assert flagged.specs[0].policy.worktree
    tasks.write_text('[[task]]\ncommand = "true"\nworktree = "maybe"\n')
    with pytest.raises(ConfigError, match=r'tasks\.toml:3: "worktree": expected true or false'):
        load_run_config(tasks, cwd=tmp_path, user_config=tmp_path / "none.toml")
