"""A stand-in agent CLI: replays recorded output of a real one, run after run.

Installed in a test as an executable named like the real CLI (`claude`, ...). Reads the plan from
$FAKE_AGENT_PLAN, a JSON list with one entry per run (the last one repeats):
  {"out": PATH, "exit": N, "sleep_after": S, "line_delay": S, "detach": true}
`out` is replayed on stdout line by line; `detach` first starts a `sleep` in a session of its own
(a helper that escapes the process group, like cline's daemon) and records its pid in
$FAKE_AGENT_PLAN.detached. Each run's argv is appended to $FAKE_AGENT_PLAN.argv (JSON lines).
"""

import json
import os
import subprocess
import sys
import time

plan_path = os.environ["FAKE_AGENT_PLAN"]
with open(plan_path) as f:
    plan = json.load(f)
with open(plan_path + ".argv", "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\n")
    f.flush()
with open(plan_path + ".argv") as f:
    run = sum(1 for _ in f) - 1
step = plan[min(run, len(plan) - 1)]
if step.get("detach"):
    helper = subprocess.Popen(
        ["sleep", "300"],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with open(plan_path + ".detached", "w") as f:
        f.write(str(helper.pid))
with open(step["out"], "rb") as f:
    for line in f:
        sys.stdout.buffer.write(line)
        sys.stdout.flush()
        time.sleep(step.get("line_delay", 0))
if step.get("stderr"):
    sys.stderr.write(step["stderr"] + "\n")
time.sleep(step.get("sleep_after", 0))
sys.exit(step.get("exit", 0))
