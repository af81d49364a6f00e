"""`ray start --address ...` for a second node on this machine's loopback, as the tests need it.

The tests keep Ray on loopback with RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (see conftest.py). Ray
reads that one switch (`ray_constants.ENABLE_RAY_CLUSTER`) for two things: whether
`get_node_ip_address` answers loopback instead of the machine's outward address (what keeps
`--address=127.0.0.1:PORT` pointing at the head, whose GCS listens on 127.0.0.1 only), and
whether `ray start` without `--head` may join a cluster at all (it refuses with the switch at 0).
With the switch unset, the worker node would join, but through the outward address, where
nothing listens. So this runs Ray's own `ray start` with the switch at 0 (its daemons and
workers inherit it, like the head's) and lets only the refusal in `ray start` see it on:

    python tests/ray/start_worker_node.py start --address=127.0.0.1:PORT --node-ip-address=127.0.0.2 ...
"""

from __future__ import annotations

import sys
import types

import ray._private.ray_constants as constants
from ray.scripts import scripts

if __name__ == "__main__":
    seen_by_ray_start = types.SimpleNamespace(**vars(constants))
    seen_by_ray_start.ENABLE_RAY_CLUSTER = True
    scripts.ray_constants = seen_by_ray_start  # type: ignore[attr-defined,assignment]
    sys.argv[0] = "ray"
    sys.exit(scripts.main())  # type: ignore[no-untyped-call]
