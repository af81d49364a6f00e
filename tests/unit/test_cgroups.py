"""Where task cgroups go: the cgroup2 mount and our own cgroup, from /proc's texts."""

from __future__ import annotations

import os
from pathlib import Path

from oneshot_tui.runner.cgroups import cgroup2_mount, own_cgroup, remove_stale

HYBRID = """\
25 30 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
32 31 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw
33 31 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,memory
"""
UNIFIED = "29 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"


def test_the_cgroup2_mount_is_found_in_hybrid_and_unified_layouts() -> None:
    assert cgroup2_mount(HYBRID) == "/sys/fs/cgroup/unified"
    assert cgroup2_mount(UNIFIED) == "/sys/fs/cgroup"
    assert cgroup2_mount(HYBRID.replace("cgroup2 cgroup2", "tmpfs tmpfs")) is None
    spaced = UNIFIED.replace("/sys/fs/cgroup ", "/mnt/my\\040cgroups ")
    assert cgroup2_mount(spaced) == "/mnt/my cgroups"


def test_our_cgroup_is_the_unified_line() -> None:
    v1_and_v2 = "4:memory:/process_api/0c89\n1:cpu:/\n0::/user.slice/session-2.scope\n"
    assert own_cgroup(v1_and_v2) == "/user.slice/session-2.scope"
    assert own_cgroup("0::/\n") == "/"
    assert own_cgroup("4:memory:/x\n") is None


def test_empty_cgroups_of_dead_owners_are_removed_and_nothing_else(tmp_path: Path) -> None:
    base = tmp_path / "cgroup"
    base.mkdir()
    # rmdir is what the kernel allows on an empty cgroup; a plain directory stands in for one.
    dead = 2**22 + 1  # above pid_max's default limit: no such process
    for name in (f"oneshot-tui-{dead}-1", f"oneshot-tui-{dead}-2", f"oneshot-tui-{os.getpid()}-1"):
        (base / name).mkdir()
    (base / f"oneshot-tui-{dead}-2" / "member").mkdir()  # not empty: still has members
    (base / "other").mkdir()
    assert remove_stale(str(base)) == 1
    assert sorted(p.name for p in base.iterdir()) == sorted(
        [f"oneshot-tui-{dead}-2", f"oneshot-tui-{os.getpid()}-1", "other"]
    )
