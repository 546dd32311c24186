"""The docs: every English page has a Chinese counterpart with the same command blocks, every
`python -m evaluator.*` command sits in a runnable `bash` block, and those blocks run offline.

A `bash` block whose first line starts with `# needs` (a real API key, network access, a fresh
machine, minutes of time) is shown but not run. The two languages' blocks are identical, so each
distinct script runs once.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^(`{3,})([\w-]*)[^\n]*\n(.*?)^\1\s*$", re.S | re.M)
WALKTHROUGH = ["01-custom-repos.md", "02-add-tasks-existing-oracles.md", "03-add-tasks-new-oracle.md"]


def english_pages() -> list[Path]:
    pages = [ROOT / "README.md"]
    for p in sorted((ROOT / "docs").rglob("*.md")):
        rel = p.relative_to(ROOT / "docs")
        if "zh-CN" not in rel.parts and "assets" not in rel.parts:
            pages.append(p)
    return pages


def chinese_page(en: Path) -> Path:
    if en == ROOT / "README.md":
        return ROOT / "README_zh-CN.md"
    return en.parent / "zh-CN" / en.name


def blocks(page: Path) -> list[tuple[str, str]]:
    return [(m.group(2), m.group(3)) for m in FENCE.finditer(page.read_text(encoding="utf-8"))]


def bash_blocks(page: Path) -> list[str]:
    return [body for lang, body in blocks(page) if lang == "bash"]


def runnable(page: Path) -> list[str]:
    return [b for b in bash_blocks(page) if not b.lstrip().startswith("# needs")]


@pytest.mark.parametrize("en", english_pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_page_has_a_chinese_counterpart_with_the_same_commands(en: Path) -> None:
    zh = chinese_page(en)
    assert zh.is_file(), f"{en.relative_to(ROOT)} has no Chinese counterpart {zh.relative_to(ROOT)}"
    assert bash_blocks(zh) == bash_blocks(en), f"command blocks differ between {en.name} and {zh.relative_to(ROOT)}"


@pytest.mark.parametrize("page", english_pages() + [chinese_page(p) for p in english_pages() if chinese_page(p).exists()],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_evaluator_commands_sit_in_bash_blocks(page: Path) -> None:
    for lang, body in blocks(page):
        if lang in ("bash", "text", "markdown"):
            continue
        for line in body.splitlines():
            assert not line.lstrip().startswith("python -m evaluator"), f"{page.name}: `{line}` is not in a bash block"


def scripts() -> dict[str, str]:
    """Distinct runnable scripts: the 01-03 walkthrough as one, every other page on its own."""
    out: dict[str, str] = {}
    docs = ROOT / "docs"
    for lang_dir in (docs, docs / "zh-CN"):
        walk = "".join(b for name in WALKTHROUGH if (lang_dir / name).exists() for b in runnable(lang_dir / name))
        if walk:
            out.setdefault(walk, f"{lang_dir.relative_to(ROOT)}/01-03 walkthrough")
    for page in english_pages() + [chinese_page(p) for p in english_pages()]:
        if page.exists() and page.name not in WALKTHROUGH:
            text = "".join(runnable(page))
            if text:
                out.setdefault(text, str(page.relative_to(ROOT)))
    return {name: text for text, name in out.items()}


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("docs") / "agentgym"
    shutil.copytree(ROOT, dest, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "runs", "__pycache__", ".pytest_cache", ".npm"))
    return dest


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(scripts()))
def test_runnable_blocks_run_offline(name: str, project_copy: Path, tmp_path: Path) -> None:
    # The walkthrough's fixed /tmp folder, made private: parallel workers run the EN and zh pages at once.
    script = "set -euo pipefail\n" + scripts()[name].replace("/tmp/agentgym-walkthrough", str(tmp_path / "walk"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "MODEL_NAME", "BASE_URL"))}
    env.update(PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}", AGENTGYM_CACHE=str(tmp_path / "cache"),
               PYTHONPATH=str(project_copy))
    proc = subprocess.run(["bash", "-c", script], cwd=project_copy, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


def test_ci_runs_the_readme_test_command() -> None:
    readme = bash_blocks(ROOT / "README.md")
    test_command = next(b.splitlines()[-1] for b in readme if "pytest" in b)
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
