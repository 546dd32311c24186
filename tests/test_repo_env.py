"""Repository environments (`env:` in a repo file): built once, offline here from a wheel the test makes,
cached, mounted read-only into the sandbox, used by change-task grading and recorded in run.json."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT, load_results, only_run_dir, run_cli, sandbox_flag
from evaluator.sandbox import SandboxPaths, get_backend
from evaluator.scoring import hidden_tests
from evaluator.scoring.hidden_tests import Grader
from evaluator.tasks.catalog import load_repos
from evaluator.tasks.change_spec import ChangeSpec
from evaluator.tasks.clone_cache import RepoCache, checkout
from evaluator.tasks.env_cache import BuiltEnv, EnvBuildError, ensure_env, relocate_scripts
from evaluator.tasks.env_spec import EnvRecipe
from evaluator.tasks.specs import Limits

pytestmark = pytest.mark.slow  # end to end (venv builds, bwrap): CI runs it after the fast tier (`pytest -m slow`)

PROBE = 'VERSION = "1.2.3"\n\ndef main():\n    print("probe", VERSION)\n'


def make_wheel(folder: Path, version: str = "1.2.3") -> Path:
    """A minimal pure-Python wheel (a module and a console script), written by hand: no build backend, no network."""
    dist = f"agentgym_probe-{version}.dist-info"
    files = {
        "agentgym_probe/__init__.py": PROBE.replace("1.2.3", version),
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: agentgym-probe\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: agentgym-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        f"{dist}/entry_points.txt": "[console_scripts]\nagentgym-probe = agentgym_probe:main\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    files[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"agentgym_probe-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return wheel


def offline_recipe(wheels: Path, requirement: str = "agentgym-probe==1.2.3") -> dict[str, Any]:
    return {"requirements": [requirement], "find_links": [str(wheels)], "no_index": True}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One env built for the demo repo (module scope: a venv costs seconds), and where it came from."""
    base = tmp_path_factory.mktemp("env")
    make_wheel(base / "wheels")
    cache = RepoCache(base / "cache")
    spec = load_repos(ROOT / "repos")["demo"]
    mirror = cache.mirror(spec)
    commit = cache.resolve(spec, mirror)
    recipe = EnvRecipe.model_validate(offline_recipe(base / "wheels"))
    env = ensure_env(cache.root, "demo", commit, recipe)
    return {"base": base, "cache": cache.root, "mirror": mirror, "commit": commit, "recipe": recipe, "env": env}


def test_the_env_is_built_once_and_then_comes_from_the_cache(built: dict[str, Any]) -> None:
    env: BuiltEnv = built["env"]
    assert env.path == built["cache"] / "envs" / f"demo-{built['commit'][:12]}-{env.recipe_hash[:12]}"
    assert "agentgym-probe==1.2.3" in env.freeze and env.python == ".".join(map(str, sys.version_info[:3]))
    assert env.build_s > 0
    marker = env.path / "marker-left-by-the-test"
    marker.write_text("x")
    try:
        again = ensure_env(built["cache"], "demo", built["commit"], built["recipe"])
        assert again.path == env.path and again.build_s == 0 and marker.exists()  # the same folder, not rebuilt
    finally:
        marker.unlink()
    assert [p.name for p in (built["cache"] / "envs").iterdir()] == [env.path.name]  # no build folder left
    # Any change to the recipe is another env.
    other = built["recipe"].model_copy(update={"requirements": ["agentgym-probe==1.2.3", "agentgym-probe"]})
    assert other.recipe_hash("x") != built["recipe"].recipe_hash("x")


def test_console_scripts_start_the_python_next_to_them(tmp_path: Path) -> None:
    venv = tmp_path / "env"
    (venv / "bin").mkdir(parents=True)
    short = venv / "bin" / "short"
    short.write_bytes(f"#!{venv}/bin/python\nimport sys\n".encode())
    long = venv / "bin" / "long"
    long.write_bytes(f"#!/bin/sh\n'''exec' \"{venv}/bin/python\" \"$0\" \"$@\"\n' '''\nimport sys\n".encode())
    (venv / "bin" / "other").write_bytes(b"#!/bin/sh\necho hi\n")
    assert relocate_scripts(venv / "bin", venv) == 2
    for script in (short, long):
        assert str(venv).encode() not in script.read_bytes() and script.read_bytes().endswith(b"import sys\n")
    assert (venv / "bin" / "other").read_bytes() == b"#!/bin/sh\necho hi\n"


def run_in_sandbox(backend: Any, env: BuiltEnv, command: str, tmp: Path) -> Any:
    repo, t, h = tmp / "repo", tmp / "t", tmp / "h"
    for d in (repo, t, h):
        d.mkdir(parents=True, exist_ok=True)
    paths = SandboxPaths(work_root=repo, tmp_dir=t, home_dir=h, env=env.mount())

    async def go() -> Any:
        box = backend.open(paths, limits=Limits(), env={})
        try:
            return await box.exec(command, cwd=box.root, timeout_s=120)
        finally:
            await box.close()
    return asyncio.run(go())


ENV_PROBE = ('python3 -c "import agentgym_probe, sys; print(agentgym_probe.VERSION, sys.prefix)"; agentgym-probe; '
             'echo "venv=$VIRTUAL_ENV"; touch "$VIRTUAL_ENV/written" && echo WROTE || echo REFUSED')


def test_bwrap_mounts_the_env_read_only_with_its_python_first(built: dict[str, Any], tmp_path: Path) -> None:
    if sandbox_flag() != "bwrap":
        pytest.skip("bwrap is not installed (CI=true fails instead)")
    top = built["env"].path
    top.chmod(0o777)  # so only the read-only mount can refuse the write, not the folder's permissions
    try:
        done = run_in_sandbox(get_backend("bwrap"), built["env"], ENV_PROBE, tmp_path)
    finally:
        top.chmod(0o755)
    assert done.exit_code == 0, done.stderr
    assert done.stdout.splitlines() == ["1.2.3 /opt/agentgym-env", "probe 1.2.3", "venv=/opt/agentgym-env", "REFUSED"]
    assert "Read-only file system" in done.stderr and not (top / "written").exists()


def test_the_local_backend_puts_the_env_first_on_path(built: dict[str, Any], tmp_path: Path) -> None:
    done = run_in_sandbox(get_backend("local"), built["env"], ENV_PROBE.split("; touch")[0], tmp_path)
    assert done.exit_code == 0, done.stderr
    assert done.stdout.splitlines() == [f"1.2.3 {built['env'].path}", "probe 1.2.3", f"venv={built['env'].path}"]


def test_change_grading_runs_the_hidden_tests_with_the_env(built: dict[str, Any], tmp_path: Path) -> None:
    change = ChangeSpec.model_validate({
        "hidden_tests": [{"path": "tests/test_probe_env.py",
                          "content": "import agentgym_probe\n\ndef test_env():\n    assert agentgym_probe.VERSION == '1.2.3'\n"}],
        "fail_to_pass": ["tests/test_probe_env.py::test_env"]})
    backend = get_backend(sandbox_flag())
    outcomes = {}
    for name, env in (("with", built["env"].mount()), ("without", None)):
        tree = tmp_path / name / "tree"
        checkout(built["mirror"], built["commit"], tree)
        grader = Grader(backend, built["mirror"], built["commit"], change, Limits(), env=env)
        result, _ = asyncio.run(grader.grade(tree, tmp_path / name / "grade", "copy"))
        outcomes[name] = [t.outcome for t in result.tests]
    assert outcomes == {"with": ["passed"], "without": ["missing"]}  # without it the test file cannot even import


def repos_with_env(tmp_path: Path, recipe: dict[str, Any]) -> Path:
    repos = tmp_path / "repos"
    repos.mkdir(parents=True)
    data = yaml.safe_load((ROOT / "repos" / "demo.yaml").read_text())
    data.update(url=str(ROOT / "repos" / "demo.bundle"), env=recipe)
    (repos / "demo.yaml").write_text(yaml.safe_dump(data))
    return repos


def test_a_run_records_the_env_and_reuses_the_cached_one(built: dict[str, Any], tmp_path: Path) -> None:
    repos = repos_with_env(tmp_path, offline_recipe(built["base"] / "wheels"))
    proc = run_cli("evaluator.run", "--repos-config", str(repos), "--repos", "demo", "--task-set", "l2",
                   "--tasks", "demo_change_002", "--model", "builtin/oracle", "--cache-dir", str(built["cache"]),
                   "--runs-root", str(tmp_path / "runs"), "--sandbox", sandbox_flag(), "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    run = only_run_dir(tmp_path / "runs")
    record = json.loads((run / "run.json").read_text())["repo_envs"]["demo"]
    env: BuiltEnv = built["env"]
    assert record == {"recipe_hash": env.recipe_hash, "python": env.python, "path": str(env.path),
                      "freeze": env.freeze, "build_s": 0.0}  # found in the cache the fixture filled
    assert "agentgym-probe==1.2.3" in record["freeze"]
    assert load_results(run, "demo")["demo_change_002"]["success"] is True
    # Resuming after the recipe changed would mix two environments in one run: refused, before any build.
    shutil.rmtree(repos)
    repos_with_env(tmp_path, offline_recipe(built["base"] / "wheels", "agentgym-probe>=1"))  # the same folder
    proc = run_cli("evaluator.run", "--resume", str(run), "--quiet", cwd=tmp_path)
    assert proc.returncode == 2 and "the environment recipe of repo 'demo' changed since" in proc.stderr, proc.stderr
    assert [p.name for p in (built["cache"] / "envs").iterdir()] == [env.path.name]


def test_a_broken_recipe_stops_the_run_with_one_sentence_and_leaves_nothing(built: dict[str, Any], tmp_path: Path) -> None:
    repos = repos_with_env(tmp_path, offline_recipe(built["base"] / "wheels", "agentgym-probe==9.9.9"))
    cache = tmp_path / "cache"
    shutil.copytree(built["cache"] / "repos", cache / "repos")  # the clone, not the env
    proc = run_cli("evaluator.run", "--repos-config", str(repos), "--repos", "demo", "--task-set", "l2",
                   "--tasks", "demo_change_002", "--model", "builtin/oracle", "--cache-dir", str(cache),
                   "--runs-root", str(tmp_path / "runs"), "--sandbox", sandbox_flag(), "--quiet", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("error: repo 'demo': its environment could not be built: pip install failed: ERROR:")
    assert "agentgym-probe==9.9.9" in lines[0]
    assert list((cache / "envs").iterdir()) == []  # no env, no half-built folder
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # nothing was run


def test_recipe_fields_are_checked_when_the_repo_file_loads(tmp_path: Path) -> None:
    from evaluator.config.errors import ConfigError

    for recipe, needle in (({"requirements": ["--index-url http://x"]}, "not one requirement"),
                           ({"requirements_file": "missing.txt"}, "missing.txt does not exist"),
                           ({"pip": "x"}, "pip")):
        shutil.rmtree(tmp_path / "repos", ignore_errors=True)
        with pytest.raises(ConfigError, match=needle):
            load_repos(repos_with_env(tmp_path, recipe))
    with pytest.raises(EnvBuildError, match="was not found"):
        ensure_env(tmp_path / "c", "demo", "0" * 40, EnvRecipe(python="/nonexistent/python3"))


UNPRIVILEGED = """
import asyncio, json, os, sys
from pathlib import Path
from evaluator.sandbox import SandboxPaths, get_backend
from evaluator.tasks.env_cache import ensure_env
from evaluator.tasks.env_spec import EnvRecipe
from evaluator.tasks.specs import Limits
base = Path(sys.argv[1])
recipe = EnvRecipe(requirements=["agentgym-probe==1.2.3"], find_links=[str(base / "wheels")], no_index=True)
env = ensure_env(base / "cache", "demo", "0" * 40, recipe)
backend = get_backend("bwrap")
backend.preflight()
dirs = [base / n for n in ("repo", "t", "h")]
for d in dirs:
    d.mkdir()
paths = SandboxPaths(work_root=dirs[0], tmp_dir=dirs[1], home_dir=dirs[2], env=env.mount())
async def go():
    box = backend.open(paths, limits=Limits(), env={})
    try:
        return await box.exec(sys.argv[2], cwd=box.root, timeout_s=120)
    finally:
        await box.close()
done = asyncio.run(go())
print(json.dumps({"uid": os.geteuid(), "out": done.stdout, "err": done.stderr, "written": (env.path / "written").exists()}))
"""


def test_an_unprivileged_evaluator_builds_and_mounts_the_env(tmp_path: Path) -> None:
    """As uid 65534 (bwrap in a user namespace): the env builds, imports, and stays read-only."""
    from test_sandbox_redteam_unit import as_nobody

    done, base = as_nobody(UNPRIVILEGED, ENV_PROBE, path=(hidden_tests.test_site(),), env={"PIP_CONFIG_FILE": "/dev/null"},
                           prepare=lambda base: make_wheel(base / "wheels"), timeout=300)
    try:
        assert done.returncode == 0, done.stderr[-3000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
        assert out["uid"] == 65534 and not out["written"], out
        assert out["out"].splitlines() == ["1.2.3 /opt/agentgym-env", "probe 1.2.3", "venv=/opt/agentgym-env",
                                           "REFUSED"], out
    finally:
        shutil.rmtree(base, ignore_errors=True)


# --- L1 tasks that suggest running pytest (issue 16 item 5) ---------------------------------------
COLLECT = ("python3 -m pytest --collect-only -qq -p no:cacheprovider tests/test_classification_metrics.py; "
           "python3 -m pytest --collect-only -qq -p no:cacheprovider tests/test_classification_metrics.py -k test_topk_prefix; "
           "python3 -c 'import pytest; print(pytest.__file__)'")


def pytest_counting_script(command: str) -> Any:
    """A model that runs `command`, then answers demo_task_011 from the counts pytest printed."""
    import re

    from evaluator.testing.scripted_server import Reply, completion, tool_call

    def script(body: dict[str, Any], _: int) -> Reply:
        messages = body["messages"]
        tools = [m for m in messages if m["role"] == "tool"]
        if not tools:
            return completion(tool_calls=[tool_call("run_command", {"command": command}, "c0")])
        if len(tools) == 1:
            counts = [int(n) for n in re.findall(r"test_classification_metrics\.py: (\d+)", tools[0]["content"])]
            answer = {"total_items": counts[0], "topk_items": counts[1]} if len(counts) == 2 else {}
            return completion(tool_calls=[tool_call("write_file", {"path": "eval_artifacts/answer.json",
                                                                   "content": json.dumps(answer)}, "c1")])
        return completion("done")
    return script


def run_scripted_l1(tmp_path: Path, command: str, *extra: str) -> tuple[dict[str, Any], str]:
    from evaluator.testing.scripted_server import ScriptedServer

    with ScriptedServer(pytest_counting_script(command)) as srv:
        proc = run_cli("evaluator.run", "--model", "scripted-1", "--base-url", srv.base_url.removesuffix("/v1"),
                       "--repos", "demo", "--tasks", "demo_task_011", "--runs-root", str(tmp_path / "runs"),
                       "--sandbox", sandbox_flag(), "--quiet", *extra, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    run = only_run_dir(tmp_path / "runs")
    lines = [json.loads(x)["message"] for x in (run / "transcripts" / "demo.jsonl").read_text().splitlines()]
    return load_results(run, "demo")["demo_task_011"], next(m["content"] for m in lines if m["role"] == "tool")


def test_an_l1_task_can_run_the_pytest_it_suggests(tmp_path: Path) -> None:
    """Without a repository env the harness's own pytest is importable in the sandbox, as in change grading."""
    result, output = run_scripted_l1(tmp_path, COLLECT, "--cache-dir", str(tmp_path / "cache"))
    assert "tests/test_classification_metrics.py: 12" in output and "tests/test_classification_metrics.py: 6" in output
    assert str(hidden_tests.test_site()) in output  # the harness's pytest, whatever the interpreter's prefix holds
    assert result["success"] is True, result["output_checks"]


def test_an_l1_task_runs_its_commands_with_the_repo_env(built: dict[str, Any], tmp_path: Path) -> None:
    repos = repos_with_env(tmp_path, offline_recipe(built["base"] / "wheels"))
    probe = "python3 -c 'import agentgym_probe, os; print(agentgym_probe.VERSION, os.environ.get(\"PYTHONPATH\"))'"
    result, output = run_scripted_l1(tmp_path, probe, "--repos-config", str(repos), "--cache-dir", str(built["cache"]))
    assert json.loads(output)["stdout"] == "1.2.3 None\n", output  # the env's package, and nothing of the harness's


CONCURRENT = """
import json, sys
from pathlib import Path
from evaluator.tasks.env_cache import ensure_env
from evaluator.tasks.env_spec import EnvRecipe
recipe = EnvRecipe(requirements=["agentgym-probe==1.2.3"], find_links=[sys.argv[2]], no_index=True)
env = ensure_env(Path(sys.argv[1]), "demo", "1" * 40, recipe)
print(json.dumps({"path": str(env.path), "build_s": env.build_s}))
"""


def test_two_runs_building_the_same_env_at_once_build_it_once(tmp_path: Path) -> None:
    make_wheel(tmp_path / "wheels")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, str(tmp_path / "cache"), str(tmp_path / "wheels")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        outs.append(json.loads(out.strip().splitlines()[-1]))
    assert outs[0]["path"] == outs[1]["path"]
    assert sorted(o["build_s"] > 0 for o in outs) == [False, True]  # one built it, the other waited and found it
    assert [p.name for p in (tmp_path / "cache" / "envs").iterdir()] == [Path(outs[0]["path"]).name]


def test_curated_pytest_counting_tasks_run_pytest_or_say_static_reading_is_expected() -> None:
    """Issue 16 item 5. Measured in the sandbox: demo_task_011's pytest runs (test above); mmengine_l1_020 and
    internlm_l1_008 cannot import their test files (torch, even with mmengine's env), so they must say so."""
    from evaluator.tasks.catalog import load_tasks

    counting = [t for t, _ in load_tasks(ROOT / "tasks", task_set="l1", repos=None, pattern=None)
                if any(o.oracle.fn == "pytest_param_count" for o in t.outputs)]
    assert {t.id for t in counting} >= {"demo_task_011", "mmengine_l1_020", "internlm_l1_008"}
    for task in counting:
        static = "Static reading is expected" in " ".join(task.instruction.split())
        assert static or task.id == "demo_task_011", f"{task.id}: say that static reading is expected, or show pytest runs"
