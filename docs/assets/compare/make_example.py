"""Regenerate the docs/compare.md example: run the demo with a scripted HTTP model that copies
a builtin/oracle run's answers but gets the listed tasks wrong.

    python docs/assets/compare/make_example.py ORACLE_RUN NAME WRONG_TASKS,... RUNS_ROOT EXTRA_TURNS
"""
import json, subprocess, sys, os
from pathlib import Path
ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))
from evaluator.testing.scripted_server import ScriptedServer, completion, tool_call

oracle, name, wrong, runs = Path(sys.argv[1]), sys.argv[2], set(sys.argv[3].split(",")), sys.argv[4]
extra = int(sys.argv[5])  # extra exploration turns, to vary tokens

def task_of(messages):
    text = next(m["content"] for m in messages if m["role"] == "user")
    return text.split("Task: ", 1)[1].split("\n", 1)[0].strip()

def script(body, _):
    msgs = body["messages"]
    task = task_of(msgs)
    t = sum(1 for m in msgs if m["role"] == "assistant")
    ptok = 900 + 400 * t
    if t <= extra:
        return completion(tool_calls=[tool_call("run_command", {"command": "ls -1"}, f"c{t}")], prompt_tokens=ptok, completion_tokens=60)
    if t == extra + 1:
        src = oracle / "artifacts" / "demo" / task
        if (src / "answer.json").exists():
            path, ans = "eval_artifacts/answer.json", json.loads((src / "answer.json").read_text())
            if task in wrong:
                ans = {k: (v + 1 if isinstance(v, int) and not isinstance(v, bool) else "?") for k, v in ans.items()}
            content = json.dumps(ans)
        else:
            path, content = "eval_artifacts/answer.md", (src / "answer.md").read_text()
            if task in wrong:
                content = content.replace("12", "13")
        return completion(tool_calls=[tool_call("write_file", {"path": path, "content": content}, "w")],
                          prompt_tokens=ptok, completion_tokens=120)
    return completion("done", prompt_tokens=ptok, completion_tokens=10)

with ScriptedServer(script) as srv:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "evaluator.run", "--repos", "demo", "--model", name, "--base-url", srv.base_url.removesuffix("/v1"),
                        "--sandbox", "local", "--quiet", "--runs-root", runs], cwd=ROOT, env=env)
    sys.exit(p.returncode)
