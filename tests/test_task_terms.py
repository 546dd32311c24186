"""Curated instructions define their graph and code terms in one clause (issue 16): a task
whose oracle answers "cycles", "subclasses", "registered" classes or pytest "test items" must
say what the word means, so only one answer is defensible; a pytest-counting task says that
static reading is expected, because the repositories' test dependencies are not installed."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CURATED = sorted(p for repo in ("internlm", "mmengine", "opencompass") for p in (ROOT / "tasks/l1" / repo).glob("*.yaml"))

# oracle -> phrases its task's instruction must contain (the defining clause).
DEFINITIONS = {
    "python_import_cycles": ["strongly connected", "maximal set"],
    "python_subclasses": ["derives from", "directly when its class statement lists a base"],
    "python_registered_classes": ["counts as registered", "module-level statement"],
    "python_registered_functions": ["counts as registered"],
    "pytest_param_count": ["a test item is", "Static reading is expected"],
    "python_call_sites": ["A call is an expression", "are not calls"],
    "python_name_origin": ["follow the import statements", "do not count"],
    "python_config_inherited_value": ["merged over them", "`_delete_=True`", "lists included, replaces"],
}


def _tasks() -> list[tuple[str, str, str]]:
    out = []
    for path in CURATED:
        task = yaml.safe_load(path.read_text(encoding="utf-8"))
        for fn in sorted({o["oracle"]["fn"] for o in task["outputs"]} & set(DEFINITIONS)):
            out.append((task["id"], fn, " ".join(task["instruction"].split())))
    return out


def test_the_curated_suites_use_every_defined_term() -> None:
    assert {fn for _, fn, _ in _tasks()} == set(DEFINITIONS)


@pytest.mark.parametrize(("task_id", "fn", "instruction"), _tasks(), ids=lambda v: v if isinstance(v, str) and "_l1_" in v else "")
def test_instruction_defines_the_term_its_oracle_answers(task_id: str, fn: str, instruction: str) -> None:
    missing = [p for p in DEFINITIONS[fn] if p not in instruction]
    assert not missing, f"{task_id} ({fn}) does not define its term: missing {missing}"
