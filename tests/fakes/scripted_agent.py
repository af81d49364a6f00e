"""A stand-in agent CLI for loop tests: answers each run from a script, in the real stream format
of the CLI it plays ($FAKE_AS, else its own name: `claude` or `codex`), and records every prompt it was given.

$FAKE_SCRIPT names a JSON list, one entry per run across all binaries (the last repeats):
  {"result": TEXT, "exit": 0, "is_error": false, "crash": false, "sleep": 0}
`crash` exits 1 after the session line, with no result; `sleep` waits before answering (a slow
agent, to be interrupted or killed). Each run appends {"binary", "argv", "n"} to
$FAKE_SCRIPT.calls as a JSON line.

$FAKE_SHELL, if set, is run through /bin/sh in the agent's cwd before it answers, as an agent's
shell tool would (editing and committing files, say); if it fails, so does the agent (exit 1).
"""

import json
import os
import subprocess
import sys
import time
from typing import Any

binary = os.environ.get("FAKE_AS") or os.path.basename(sys.argv[0])
script_path = os.environ["FAKE_SCRIPT"]
with open(script_path) as f:
    script = json.load(f)
calls_path = script_path + ".calls"
n = 0
if os.path.exists(calls_path):
    with open(calls_path) as f:
        n = sum(1 for _ in f)
with open(calls_path, "a") as f:
    f.write(json.dumps({"binary": binary, "argv": sys.argv[1:], "n": n, "pid": os.getpid()}) + "\n")
step = script[min(n, len(script) - 1)]
session = f"fake-session-{n}"


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


if binary == "codex":
    emit({"type": "thread.started", "thread_id": session})
    emit({"type": "turn.started"})
else:
    emit(
        {
            "type": "system",
            "subtype": "init",
            "session_id": session,
            "model": "fake-model",
            "cwd": os.getcwd(),
            "tools": ["Bash"],
        }
    )
time.sleep(step.get("sleep", 0))
if os.environ.get("FAKE_SHELL"):
    tool = subprocess.run(
        ["/bin/sh", "-c", os.environ["FAKE_SHELL"]], capture_output=True, text=True
    )
    if tool.returncode != 0:
        sys.stderr.write(f"fake agent: tool failed: {tool.stderr}")
        sys.exit(1)
if step.get("crash"):
    sys.stderr.write("fake agent: crashed\n")
    sys.exit(1)
text = step.get("result", "")
usage = {"input_tokens": 10, "output_tokens": 5}
if binary == "codex":
    emit(
        {"type": "item.completed", "item": {"id": "item_0", "type": "agent_message", "text": text}}
    )
    emit({"type": "turn.completed", "usage": usage})
else:
    emit(
        {
            "type": "assistant",
            "session_id": session,
            "message": {
                "id": f"msg_{n}",
                "role": "assistant",
                "model": "fake-model",
                "content": [{"type": "text", "text": text}],
                "usage": usage,
            },
        }
    )
    emit(
        {
            "type": "result",
            "subtype": "success",
            "is_error": bool(step.get("is_error")),
            "result": text,
            "session_id": session,
            "total_cost_usd": 0.001,
            "usage": usage,
            "num_turns": 1,
        }
    )
sys.exit(step.get("exit", 0))
