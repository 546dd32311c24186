"""Issue 20 items 5 and 12: the generator keeps the user's repo file and says only what it keeps."""
from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from evaluator.scoring import oracle_registry as oracles
from evaluator.generate.checks import Checker
from evaluator.generate.model import Candidate
from evaluator.generate.pipeline import generate
from evaluator.generate.sampler import Sampler
from evaluator.generate.templates import Context, Template
from evaluator.tasks.specs import RepoSpec
from tests.conftest import ROOT, git, make_repo, run_cli
from tests.test_generate import FILES, setup_repo


def test_l1_wrapper_keeps_an_existing_repo_file(tmp_path: Path) -> None:
    """Item 5: docs/01 has users write <id>.yaml first; the script used to overwrite it silently."""
    src = tmp_path / "plain"
    first = make_repo(src, FILES)
    (src / "extra.md").write_text("# more\n")
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "second")
    repos = tmp_path / "repos"
    repos.mkdir()
    mine = f"# my notes\nid: plain\nurl: {src}\nref: {first}\ndescription: pinned on purpose\n"
    (repos / "plain.yaml").write_text(mine)
    args = ["--repo-id", "plain", "--repo-root", str(src), "--repos-config", str(repos), "--cache-dir", str(tmp_path / "cache")]
    r = run_cli("tools.generate_l1_tasks", *args, "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    assert (repos / "plain.yaml").read_text() == mine and "using the existing" in r.stderr
    provenance = {yaml.safe_load(p.read_text())["provenance"]["commit"] for p in (tmp_path / "out").glob("*.yaml")}
    assert provenance == {first}  # generated at the file's ref, not at HEAD

    other = f"id: plain\nurl: {tmp_path / 'elsewhere'}\nref: {first}\n"
    (repos / "plain.yaml").write_text(other)
    r = run_cli("tools.generate_l1_tasks", *args, "--out", str(tmp_path / "out2"))
    assert r.returncode == 2 and "already exists and points at" in r.stderr and "--force" in r.stderr
    assert (repos / "plain.yaml").read_text() == other and not (tmp_path / "out2").exists()
    r = run_cli("tools.generate_l1_tasks", *args, "--out", str(tmp_path / "out2"), "--force")
    assert r.returncode == 0, r.stderr
    assert yaml.safe_load((repos / "plain.yaml").read_text())["url"] == str(src)


class _Globs(Template):
    name = "globs"
    globs = ["**/*.py", "**/*.md", "docs/*.md", "pkg/*.py", "tests/*.py", "**/*.yaml", "**/*.toml"]

    def candidates(self, ctx: Context) -> list[Candidate]:
        return [Candidate(template=self.name, params={"g": g}, key="n", type="int", fn="glob_count", args={"glob": g},
                          reason="count", instruction=f"Count {g} files. Write to eval_artifacts/answer.json: {{\"n\": <int>}} .")
                for g in self.globs]


class _License(_Globs):
    name = "license"
    globs = ["LICENSE*"]


def test_generator_progress_matches_what_is_kept(tmp_path: Path) -> None:
    """Item 12: tasks the quota dropped at the end had been announced as "accepted"."""
    ws = setup_repo(tmp_path)
    ctx = Context(repo_id="fx", root=ws["src"], commit=ws["commit"], sampler=Sampler(0), cache=oracles.FactCache(None))
    said: list[str] = []
    res = generate(ctx, Checker(ctx, RepoSpec(id="fx", url=str(ws["src"]), ref=ws["commit"])), [_Globs(), _License()],
                   max_tasks=10, seed=0, progress=said.append)
    kept = {a.task_id for a in res.accepted}
    assert not any(line.startswith("accepted") for line in said)
    passed = {line.split()[2] for line in said if line.startswith("passed checks:")}
    dropped = {line.split()[1] for line in said if line.startswith("dropped ")}
    assert dropped and passed - dropped == kept and not dropped & kept


def test_default_generator_output_is_ignored_by_git() -> None:
    """Item 12: the default --out, tasks/generated/, showed up as untracked files."""
    r = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", "tasks/generated/demo/demo_gen_1.yaml"])
    assert r.returncode == 0
