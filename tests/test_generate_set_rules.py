"""The rules a generated task set must meet (issue 16 item 3): fixed questions dropped with their
reason, at most 2 tasks of a template per file, at most a third one-pipeline (generator and
validate), and `--task-set` selecting the committed generated set."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from evaluator.config.errors import ConfigError
from evaluator.config.paths import REPOS_DIR, TASKS_DIR
from evaluator.generate.model import Accepted, Candidate
from evaluator.generate.worth import enforce_one_pipeline
from evaluator.tasks.catalog import load_repos, load_tasks
from evaluator.tasks.pipeline_share import share_report
from evaluator.tasks.specs import TaskSpec
from tests.conftest import make_repo, run_cli
from tests.test_generate import FILES, load_out

GENERATED_SET = "l1-generated"


def two_repos(tmp: Path) -> Path:
    """Repos `fx` (the generator fixture plus a .yml file) and `peer` (no test file, another README),
    both with a LICENSE."""
    repos = tmp / "repos"
    repos.mkdir()
    peer = {**{k: v for k, v in FILES.items() if k != "tests/test_ops.py"}, "README.md": "# Peer\n"}
    for rid, files in (("fx", {**FILES, "ci.yml": "on: push\n"}), ("peer", peer)):
        commit = make_repo(tmp / rid, files)
        (repos / f"{rid}.yaml").write_text(yaml.safe_dump({"id": rid, "url": str(tmp / rid), "ref": commit}))
    return repos


def generate(tmp: Path, repos: Path, out: Path, *extra: str) -> tuple[Any, dict[str, Any]]:
    r = run_cli("evaluator.generate", "--repo", "fx", "--repos-config", str(repos), "--cache-dir", str(tmp / "cache"),
                "--out", str(out), "--max-tasks", "60", *extra)
    assert r.returncode == 0, r.stderr
    return r, json.loads((out / "_generation_report.json").read_text())


def test_fixed_questions_dropped_with_the_reason_printed(tmp_path: Path) -> None:
    repos = two_repos(tmp_path)
    r, report = generate(tmp_path, repos, tmp_path / "out", "--peers", "peer")
    printed = r.stdout
    assert ("template has_license_file dropped for this repo: same answer in every repo: "
            "the answer is true in every repo (fx, peer)") in printed
    assert ("template repo_token_count dropped for this repo: naive pipeline answers it: "
            "`grep -rio --exclude-dir=.git --exclude-dir=eval_artifacts pytest . | wc -l` prints the exact answer 4") in printed
    templates = {t["provenance"]["template"] for t in load_out(tmp_path / "out").values()}
    assert not {"has_license_file", "repo_token_count", "glob_count_md"} & templates
    # `find -name '*.yaml'` misses ci.yml, so the YAML count still has a trap here and is kept.
    assert "glob_count_yaml" in templates and "glob_count_yaml" not in report["dropped_templates"]


def test_at_most_two_per_file_and_a_third_one_pipeline(tmp_path: Path) -> None:
    repos = two_repos(tmp_path)
    _, report = generate(tmp_path, repos, tmp_path / "ruled")
    _, loose = generate(tmp_path, repos, tmp_path / "loose", "--no-set-rules")

    def per_file(out: Path) -> Counter[tuple[str, str]]:
        return Counter((t["provenance"]["template"], t["outputs"][0]["oracle"]["args"]["path"])
                       for t in load_out(out).values() if "path" in t["outputs"][0]["oracle"]["args"])

    assert max(per_file(tmp_path / "loose").values()) == 3  # config.yaml and tests/test_ops.py offer three each
    assert max(per_file(tmp_path / "ruled").values()) == 2 and report["drops_by_reason"]["same file"] > 0
    tasks = load_out(tmp_path / "ruled").values()
    labels = [t["one_pipeline"] for t in tasks]
    assert all(isinstance(x, bool) for x in labels) and 0 < sum(labels) and 3 * sum(labels) <= len(labels)
    # Without the rules (the original AgentGym easy tasks) no label is written, so validate counts nothing.
    assert loose["tasks"] > report["tasks"] and all("one_pipeline" not in t for t in load_out(tmp_path / "loose").values())


def _accepted(i: int, one: bool) -> Accepted:
    c = Candidate(template="t", params={"i": i}, key="n", type="int", fn="glob_count", args={"glob": "*"},
                  instruction="x", reason="x", one_pipeline=one)
    return Accepted(candidate=c, task_id=f"t{i}", task={}, answer=1)


def test_one_pipeline_cap_in_the_generator() -> None:
    items = [_accepted(i, one) for i, one in enumerate([True, False, True, False, True, False])]
    kept, dropped = enforce_one_pipeline(items)
    # 3 of 6, then 2 of 5: each drop shrinks the set, so one-pipeline tasks go until 1 of 4.
    assert [a.task_id for a in kept] == ["t0", "t1", "t3", "t5"] and [d.task_id for d in dropped] == ["t4", "t2"]
    assert {d.reason for d in dropped} == {"one-pipeline cap"}


def _task(i: int, one: bool | None, repo: str = "fx") -> TaskSpec:
    return TaskSpec.model_validate({"id": f"{repo}_{i}", "repo": repo, "instruction": "x", "one_pipeline": one,
                                    "outputs": [{"key": "n", "type": "int", "oracle": {"fn": "glob_count", "args": {}}}]})


def test_validate_counts_one_pipeline_per_repo() -> None:
    lines, bad = share_report([_task(1, True), _task(2, False), _task(3, False), _task(4, None), _task(5, True, "other")])
    assert lines[0] == "one-pipeline fx: 1/3 labelled tasks (33%), within the cap of a third; 1 unlabelled task(s) not counted"
    assert lines[1] == "one-pipeline other: 1/1 labelled tasks (100%), FAIL: over the cap of a third" and bad
    lines, bad = share_report([_task(1, True), _task(2, False), _task(3, False), _task(4, None)])
    assert not bad and len(lines) == 1
    assert share_report([_task(1, None)]) == ([], False)  # the curated set carries no label


def test_validate_fails_a_generated_set_over_the_cap(tmp_path: Path) -> None:
    repos = two_repos(tmp_path)
    out = tmp_path / "tasks" / GENERATED_SET / "fx"
    generate(tmp_path, repos, out)
    files = sorted(out.glob("fx_gen_*.yaml"))
    for p in files[: len(files) // 2 + 1]:  # relabel half the set as one-pipeline
        data = yaml.safe_load(p.read_text())
        p.write_text(yaml.safe_dump({**data, "one_pipeline": True}, sort_keys=False))
    r = run_cli("evaluator.validate", "--repos-config", str(repos), "--tasks-dir", str(tmp_path / "tasks"),
                "--task-set", GENERATED_SET, "--repos", "fx", "--cache-dir", str(tmp_path / "cache"))
    over = [line for line in r.stdout.splitlines() if line.startswith("one-pipeline fx:")]
    assert r.returncode == 1 and len(over) == 1 and over[0].endswith("FAIL: over the cap of a third"), r.stdout[-1500:]


def test_task_set_selects_the_committed_generated_set() -> None:
    curated = load_tasks(TASKS_DIR, task_set="l1", repos=["mmengine", "opencompass", "internlm"], pattern=None)
    generated = load_tasks(TASKS_DIR, task_set=GENERATED_SET, repos=None, pattern=None)
    assert curated and not any("_gen_" in t.id for t, _ in curated)
    assert generated and all("_gen_" in t.id and "generated" in t.tags for t, _ in generated)
    pins = {rid: spec.ref for rid, spec in load_repos(REPOS_DIR).items()}
    by_repo: dict[str, list[TaskSpec]] = {}
    for t, path in generated:
        assert path.parent.name == t.repo and t.provenance and t.provenance["commit"] == pins[t.repo]  # same pins
        by_repo.setdefault(t.repo, []).append(t)
    for repo, tasks in by_repo.items():
        assert 3 * sum(bool(t.one_pipeline) for t in tasks) <= len(tasks), repo
        assert all(t.one_pipeline is not None for t in tasks), repo
        files = Counter((t.provenance["template"], t.outputs[0].oracle.args["path"]) for t in tasks  # type: ignore[index,union-attr]
                        if "path" in t.outputs[0].oracle.args)  # type: ignore[union-attr]
        assert not files or max(files.values()) <= 2, repo
        templates = Counter(t.provenance["template"] for t in tasks)  # type: ignore[index]
        assert max(templates.values()) <= len(tasks) // 4, repo  # spread over the templates
    assert len(by_repo.get("mmengine", [])) >= 80 and len(by_repo.get("opencompass", [])) >= 80


def test_a_mistyped_task_set_is_an_error_not_every_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="task set 'l1-generatd' not found"):
        load_tasks(TASKS_DIR, task_set="l1-generatd", repos=None, pattern=None)
    r = run_cli("evaluator.validate", "--task-set", "l1-generatd", "--repos", "mmengine")
    assert r.returncode == 2 and "task set 'l1-generatd' not found" in r.stderr and "Traceback" not in r.stderr
