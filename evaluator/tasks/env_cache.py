"""Repository environments: a venv per (repo, commit, recipe hash), built once into the clone cache.

Built with network before any task runs, in a temp dir under `<cache>/envs/` that is renamed into
place only when pip and the checks succeeded, under a file lock: two runs building the same env
at once build it once, and a failed or killed build leaves no env behind. Sandboxes mount it
read-only (at /opt/agentgym-env under bwrap); its console scripts are rewritten to start the
`python` next to them, so the venv works at the mount path and at its host path alike
(`python -m venv` would otherwise leave the build folder's absolute path in every shebang).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from pydantic import BaseModel, Field

from evaluator.config.errors import ConfigError
from evaluator.results.atomic import file_lock
from evaluator.results.records import RepoEnvRecord
from evaluator.sandbox.base import EnvMount
from evaluator.tasks.env_spec import EnvRecipe
from evaluator.tasks.plan import Plan

META = "agentgym-env.json"
# A console script that starts the interpreter next to it, wherever the venv is mounted: sh runs the
# first two lines (''' 'exec' -> exec), Python sees one string literal and then the script itself.
PORTABLE_SHEBANG = b"#!/bin/sh\n'''exec' \"$(dirname -- \"$0\")/python\" \"$0\" \"$@\"\n' '''\n"
_SYSTEM = ("/usr", "/etc", "/proc", "/dev", "/sys")
Step = Callable[[str], None]
_RUNNING: set[subprocess.Popen[str]] = set()  # build steps in flight, killed by cancel_builds()
_CANCELLED = threading.Event()


class EnvBuildError(ConfigError):
    """A recipe that cannot be built: one sentence, exit 2, nothing left in the cache."""


class BuiltEnv(BaseModel):
    """A ready environment in the cache, as run.json records it."""

    repo: str
    path: Path = Field(description="Host folder of the venv (under <cache>/envs/).")
    recipe_hash: str
    python: str = Field(description="The venv's Python version.")
    base_prefix: str = Field(description="Prefix of the interpreter the venv links to (mounted read-only too).")
    freeze: list[str] = Field(description="`pip freeze` of the venv: the resolved versions.")
    has_pytest: bool
    build_s: float = Field(0.0, description="Seconds this run spent building it (0: it came from the cache).")

    def mount(self) -> EnvMount:
        prefix = Path(self.base_prefix)
        system = any(str(prefix) == s or str(prefix).startswith(s + "/") for s in _SYSTEM)
        return EnvMount(host=self.path, binds=[] if system or str(prefix) == "/" else [prefix],
                        has_pytest=self.has_pytest)

    def record(self) -> RepoEnvRecord:
        return RepoEnvRecord(recipe_hash=self.recipe_hash, python=self.python, path=str(self.path),
                             freeze=self.freeze, build_s=self.build_s)


def _interpreter(recipe: EnvRecipe, repo: str) -> tuple[str, str]:
    """(the interpreter to make the venv with, an id of it for the hash: version and real path)."""
    exe = recipe.python or sys.executable
    found = exe if os.sep in exe else shutil.which(exe)
    if not found or not os.access(found, os.X_OK):
        raise EnvBuildError(f"repo {repo!r}: env python {exe!r} was not found (give a path or a name on PATH)")
    probe = "import os, platform, sys; print(platform.python_version(), os.path.realpath(sys._base_executable))"
    try:
        done = subprocess.run([found, "-c", probe], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise EnvBuildError(f"repo {repo!r}: env python {exe!r} does not run ({exc})") from None
    if done.returncode != 0 or not done.stdout.strip():
        raise EnvBuildError(f"repo {repo!r}: env python {exe!r} does not run ({_last_line(done.stderr)})")
    return found, done.stdout.strip()


def recipe_hash_of(repo: str, recipe: EnvRecipe) -> str:
    """The recipe's hash, without building anything (a resumed run compares it with the one it started with)."""
    return recipe.recipe_hash(_interpreter(recipe, repo)[1])


def env_name(repo: str, commit: str, recipe_hash: str) -> str:
    return f"{repo}-{commit[:12]}-{recipe_hash[:12]}"


def ensure_env(cache_root: Path, repo: str, commit: str, recipe: EnvRecipe, step: Step = lambda _: None) -> BuiltEnv:
    """The env for (repo, commit, recipe), built now if the cache does not hold it yet."""
    exe, python_id = _interpreter(recipe, repo)
    recipe_hash = recipe.recipe_hash(python_id)
    envs = cache_root / "envs"
    dest = envs / env_name(repo, commit, recipe_hash)
    try:
        with file_lock(cache_root / "locks" / f"env-{dest.name}.lock"):
            cached = _load(dest)
            if cached is not None:  # built before (maybe by another run): nothing built now
                return cached.model_copy(update={"path": dest, "build_s": 0.0})
            if dest.exists():  # not ours to trust: no record means it was never finished
                shutil.rmtree(dest)
            for stale in envs.glob(f".build-{dest.name}-*"):  # a killed build of this env (we hold its lock)
                shutil.rmtree(stale, ignore_errors=True)
            return _build_into(envs, dest, exe, recipe, repo, recipe_hash, step)
    except OSError as exc:  # the cache folder itself: not writable, full disk
        raise EnvBuildError(f"repo {repo!r}: its environment could not be built in {envs}: "
                            f"{exc.strerror or exc}") from None


def _build_into(envs: Path, dest: Path, exe: str, recipe: EnvRecipe, repo: str, recipe_hash: str,
                step: Step) -> BuiltEnv:
    envs.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".build-{dest.name}-", dir=envs))
    try:
        built = _build(tmp / "env", exe, recipe, repo, recipe_hash, step, dest)
        os.chmod(tmp / "env", 0o755)  # sandbox uids must be able to enter it
        os.rename(tmp / "env", dest)  # atomic: the env appears whole or not at all
        return built
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _load(dest: Path) -> BuiltEnv | None:
    try:
        return BuiltEnv.model_validate_json((dest / META).read_bytes())
    except (OSError, ValueError):
        return None


def _build(venv: Path, exe: str, recipe: EnvRecipe, repo: str, recipe_hash: str, step: Step, dest: Path) -> BuiltEnv:
    start = time.monotonic()
    deadline = start + recipe.build_timeout_s
    step("creating the venv")
    _run([exe, "-m", "venv", str(venv)], repo, "python -m venv", deadline, step)
    py = str(venv / "bin" / "python")
    if recipe.requirements or recipe.requirements_file:
        _run([py, "-m", "pip", "install", *_pip_args(recipe)], repo, "pip install", deadline, step)
    step("recording versions")
    out = _run([py, "-m", "pip", "freeze"], repo, "pip freeze", deadline, lambda _: None).splitlines()
    # stderr comes in the same stream: keep pip's notes out of the recorded versions
    freeze = [ln for ln in out if ln.strip() and not ln.startswith(("WARNING", "DEPRECATION", "ERROR", "[notice]"))]
    facts = _run([py, "-c", "import platform, sys, importlib.util as u; "
                  "print(platform.python_version(), u.find_spec('pytest') is not None, sys.base_prefix)"],
                 repo, "the venv's python", deadline, lambda _: None).splitlines()[-1].split(maxsplit=2)
    relocate_scripts(venv / "bin", venv)
    built = BuiltEnv(repo=repo, path=dest, recipe_hash=recipe_hash, python=facts[0], has_pytest=facts[1] == "True",
                     base_prefix=facts[2].strip(), freeze=freeze,
                     build_s=round(time.monotonic() - start, 1))
    (venv / META).write_text(built.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return built


def _pip_args(recipe: EnvRecipe) -> list[str]:
    args = ["--no-input", "--disable-pip-version-check", "--progress-bar", "off"]
    if recipe.no_index:
        args.append("--no-index")
    if recipe.index_url:
        args += ["--index-url", recipe.index_url]
    for link in recipe.find_links:
        args += ["--find-links", link]
    if recipe.requirements_file:
        args += ["-r", recipe.requirements_file]
    if recipe.constraints_file:
        args += ["-c", recipe.constraints_file]
    return [*args, *recipe.requirements]


def _run(argv: list[str], repo: str, what: str, deadline: float, step: Step) -> str:
    """Run one build step, showing its output lines as they come; one sentence when it fails."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    left = deadline - time.monotonic()
    if left <= 0:
        raise EnvBuildError(f"repo {repo!r}: building its environment took longer than the recipe's build_timeout_s")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
                            errors="replace", start_new_session=True, stdin=subprocess.DEVNULL)
    timer = threading.Timer(left, _kill_group, [proc])
    timer.start()
    lines: list[str] = []
    _RUNNING.add(proc)
    if _CANCELLED.is_set():
        _kill_group(proc)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip())
            if line.strip() and not line.startswith(" "):
                step(line.strip()[:100])
        code = proc.wait()
    finally:
        timer.cancel()
        _RUNNING.discard(proc)
    if _CANCELLED.is_set():
        raise EnvBuildError(f"repo {repo!r}: building its environment was interrupted")
    if time.monotonic() >= deadline and code != 0:
        raise EnvBuildError(f"repo {repo!r}: building its environment took longer than the recipe's build_timeout_s")
    if code != 0:
        raise EnvBuildError(f"repo {repo!r}: its environment could not be built: {what} failed: {_reason(lines)}")
    return "\n".join(lines)


def cancel_builds() -> None:
    """Stop the build in flight (SIGINT/SIGTERM): its step is killed and its temp folder removed."""
    _CANCELLED.set()
    for proc in list(_RUNNING):
        _kill_group(proc)


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, 9)  # pip's own children (build backends) too
    except OSError:
        pass


def _reason(lines: list[str]) -> str:
    errors = [ln.strip() for ln in lines if ln.strip().startswith("ERROR:")]
    return (errors[-1] if errors else _last_line("\n".join(lines)))[:300]


def _last_line(text: str) -> str:
    useful = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return useful[-1][:300] if useful else "no output"


def relocate_scripts(bin_dir: Path, venv: Path) -> int:
    """Rewrite each console script that names the build folder's python to start the `python` in its own
    folder; returns how many were rewritten. Both of pip's shebang forms are handled: `#!<venv>/bin/python`
    and, for long paths, `#!/bin/sh` + `'''exec' "<venv>/bin/python" ...`."""
    needle = str(venv / "bin").encode()
    done = 0
    for script in sorted(bin_dir.iterdir()):
        if script.is_symlink() or not script.is_file():
            continue
        data = script.read_bytes()
        lines = data.split(b"\n")
        if lines[0].startswith(b"#!" + needle + b"/python"):
            body = lines[1:]
        elif lines[0] == b"#!/bin/sh" and len(lines) > 2 and lines[1].startswith(b"'''exec'") and needle in lines[1]:
            body = lines[3:]
        else:
            continue
        script.write_bytes(PORTABLE_SHEBANG + b"\n".join(body))
        done += 1
    for name in ("activate", "activate.csh", "activate.fish", "Activate.ps1"):
        path = bin_dir / name  # informational only (the sandbox sets VIRTUAL_ENV itself): keep no build path
        if path.is_file():
            path.unlink()
    return done


def ensure_envs(cache_root: Path, wanted: dict[str, tuple[str, EnvRecipe]], *, quiet: bool) -> dict[str, BuiltEnv]:
    """Every repo's env (repo id -> (commit, recipe)), built one after the other with a progress display."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    _CANCELLED.clear()
    out: dict[str, BuiltEnv] = {}
    progress = Progress(SpinnerColumn(), TextColumn("[bold]env {task.fields[repo]}[/bold]"),
                        TextColumn("{task.description}", markup=False), TimeElapsedColumn(),
                        console=Console(stderr=True), disable=quiet, transient=False)
    with progress:
        for repo, (commit, recipe) in sorted(wanted.items()):
            bar = progress.add_task("checking the cache", repo=repo, total=None)
            out[repo] = ensure_env(cache_root, repo, commit, recipe, lambda text: progress.update(bar, description=text))
            env = out[repo]
            took = f"built in {env.build_s:.0f} s" if env.build_s else "cached"
            progress.update(bar, description=f"{took}: {len(env.freeze)} packages", total=1, completed=1)
    return out


def prepare_envs(plan: Plan, *, quiet: bool) -> dict[str, BuiltEnv]:
    """Build (or find) the env of every planned repo that has a recipe, and give its jobs the mount."""
    wanted = {j.task.repo: (j.commit, j.repo.env) for j in plan.jobs if j.repo.env is not None}
    if not wanted:
        return {}
    envs = ensure_envs(plan.cache_dir, wanted, quiet=quiet)
    plan.jobs = [j.model_copy(update={"env": envs[j.task.repo].mount()}) if j.task.repo in envs else j
                 for j in plan.jobs]
    return envs


def command_env(env: EnvMount | None, task_env: dict[str, str]) -> tuple[list[Path], dict[str, str]]:
    """(extra read-only binds, environment variables) for a task's commands. With a repository env they
    see exactly it (the harness's packages would shadow its own); without one, the harness's pytest is
    importable, as when change tasks are graded, so a task that suggests `python3 -m pytest` can run it."""
    if env is not None:
        return [], dict(task_env)
    from evaluator.scoring.hidden_tests import test_site

    site = test_site()
    return [site], {"PYTHONPATH": str(site), **task_env}  # the task may point elsewhere
