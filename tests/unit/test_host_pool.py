"""Idle hosts: reused for the same placement only, let go when idle too long."""

from __future__ import annotations

from oneshot_tui.runner.host_pool import WARM_TIMEOUT, HostPool


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_host_is_reused_for_its_own_placement_only() -> None:
    released: list[str] = []
    pool = HostPool(released.append, idle_timeout=5, clock=Clock())
    pool.give("small", "h1")
    pool.give("small", "h2")
    assert pool.take("big") is None
    assert pool.take("small") == ("h2", 0.0)  # the most recently used first, idle 0 s
    assert pool.take("small") == ("h1", 0.0)
    assert pool.take("small") is None
    assert released == []


def test_idle_hosts_are_let_go_after_the_timeout() -> None:
    released: list[str] = []
    clock = Clock()
    pool = HostPool(released.append, idle_timeout=5, clock=clock)
    pool.give("a", "old")
    clock.now += 4
    pool.give("a", "new")
    clock.now += 2
    pool.expire()
    assert released == ["old"]
    assert len(pool) == 1
    pool.clear()
    assert released == ["old", "new"] and len(pool) == 0


def test_the_hosts_a_run_keeps_warm_outlive_the_timeout_and_the_rest_do_not() -> None:
    released: list[str] = []
    clock = Clock()
    pool = HostPool(released.append, idle_timeout=5, clock=clock)
    pool.keep["a"] = 2
    for host in ("a1", "a2", "a3"):
        pool.give("a", host)
        clock.now += 1
    pool.give("b", "b1")
    clock.now += 10
    pool.expire()
    assert released == ["a1", "b1"]  # the oldest of a, beyond the two kept; all of b
    assert pool.count("a") == 2
    assert pool.take("a") == ("a3", 11.0)
    pool.give("b", "b2")
    pool.clear(but="b")
    assert released == ["a1", "b1", "a2"] and pool.count("b") == 1
    # A warm host idle for longer than the warm timeout goes too (a run left open, its tasks
    # ended, gives the cluster back its resources).
    pool.give("a", "a4")
    clock.now += WARM_TIMEOUT - 1
    pool.expire()
    assert pool.count("a") == 1
    clock.now += 2
    pool.expire()
    assert pool.count("a") == 0 and released[-1] == "a4"
