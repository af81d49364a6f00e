"""The process backend a run asked for, opened before its first task and closed after its last.

The ray backend is imported here and only here, when it is chosen: a local run never loads Ray.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from oneshot_tui.core.spec import RunSettings
from oneshot_tui.runner.backend import BackendError, LocalBackend, ProcessBackend

RAY_MISSING = "the ray backend needs Ray on this machine: pip install 'oneshot-tui[ray]'"


@asynccontextmanager
async def open_backend(settings: RunSettings) -> AsyncIterator[ProcessBackend]:
    """The run's backend, ready; raises BackendError (nothing started) if it cannot be had."""
    if settings.backend == "local":
        yield LocalBackend()
        return
    if settings.backend != "ray":
        raise BackendError(f"unknown backend {settings.backend!r}")
    try:
        from oneshot_tui.runner.ray_backend import RayBackend
    except ImportError as exc:
        if (exc.name or "").split(".")[0] == "ray":
            raise BackendError(RAY_MISSING) from None
        raise
    backend = RayBackend(settings.ray_address, settings.forward_env)
    await backend.start()
    try:
        yield backend
    finally:
        with anyio.CancelScope(shield=True):
            await backend.aclose()
