"""The easy tier: the original AgentGym's ten L1 task kinds, one task each per repository."""
from __future__ import annotations

from typing import Any

from evaluator.generate.model import Candidate, DistractorDraft
from evaluator.generate.templates.base import Context, Template, schema

EXCL = [".git", "eval_artifacts"]
EXCL_TEXT = "recursively, excluding the .git/ and eval_artifacts/ directories"


class _Easy(Template):
    tier = "easy"
    one_pipeline = True  # ls, find | wc, grep | wc, head: the original L1 kinds
    key: str = ""
    shape: str = "<int>"
    type: str = "int"
    fn: str = ""
    args: dict[str, Any] = {}
    question: str = ""
    reason: str = ""
    distractors: list[DistractorDraft] = []

    def candidates(self, ctx: Context) -> list[Candidate]:
        return [Candidate(template=self.name, params={}, key=self.key, type=self.type, fn=self.fn, args=self.args,  # type: ignore[arg-type]
                          instruction=f"{self.question} {schema(self.key, self.shape)}", distractors=self.distractors,
                          difficulty="easy", reason=self.reason)]


class TopLevelEntries(_Easy):
    name = "top_level_entry_count"
    key, fn = "top_level_entries", "top_level_entry_count"
    args = {"exclude": EXCL, "exclude_hidden": True}
    question = ("Count the visible entries (files and directories whose names do not start with a dot) directly in "
                "the repository root, not counting eval_artifacts/ - what `ls -1` shows without eval_artifacts.")
    reason = "one ls of the root, minus hidden entries and eval_artifacts"
    distractors = [DistractorDraft(fn="top_level_entry_count", args={"exclude": EXCL, "exclude_hidden": False},
                                   why="counted dot-entries too")]


class ReadmeFirstLine(_Easy):
    name = "readme_first_nonempty_line"
    key, fn, type, shape = "readme_first_line", "readme_first_nonempty_line", "str", "<string>"
    args = {"path": "README.md"}
    question = "What is the first non-empty line of README.md, verbatim (without its line ending)?"
    reason = "read the head of one file"


class MarkdownCount(_Easy):
    name = "glob_count_md"
    key, fn = "markdown_file_count", "glob_count"
    args = {"glob": "**/*.md", "exclude_dirs": EXCL}
    question = f"How many Markdown files (*.md) are in the repository, {EXCL_TEXT}?"
    reason = "one find | wc pipeline"
    distractors = [DistractorDraft(fn="glob_count", args={"glob": "*.md"}, why="counted only the root directory")]


class LargestFile(_Easy):
    name = "largest_file"
    # largest_files, not largest_file: a tie for the largest size (the same image in two doc
    # trees) would otherwise make the answer depend on a tie-break the question cannot state fairly.
    key, fn, type, shape = "largest_files", "largest_files", "json", '{"paths": [<repo-relative path>, ...], "size": <bytes>}'
    args = {"exclude_dirs": [".git"]}
    question = ("Which file in the repository is the largest by size in bytes, excluding the .git/ directory? "
                "If several files tie for the largest size, list every one of them. Give their paths relative "
                "to the repository root (no leading ./), sorted, and the size.")
    reason = "find with sizes, sort, take the top"


class YamlCount(_Easy):
    name = "glob_count_yaml"
    key, fn = "yaml_file_count", "glob_count"
    args = {"glob": "**/*.{yml,yaml}", "exclude_dirs": EXCL}
    question = f"How many YAML files (*.yml or *.yaml) are in the repository, {EXCL_TEXT}?"
    reason = "find with two extensions"
    distractors = [DistractorDraft(fn="glob_count", args={"glob": "**/*.yaml", "exclude_dirs": EXCL},
                                   why="counted only *.yaml, not *.yml")]


class TokenCount(_Easy):
    name = "repo_token_count"
    key, fn = "token_pytest_count", "repo_token_count"
    args = {"token": "pytest", "case_insensitive": True, "exclude_dirs": EXCL, "max_bytes": 1000000}
    question = ("Count how many times the substring `pytest` occurs across the repository, case-insensitively. Rules: "
                "exclude the .git/ and eval_artifacts/ directories; only files of at most 1,000,000 bytes; skip any file "
                "containing a NUL byte; decode bytes as UTF-8 with errors='ignore'; count with text.lower().count('pytest').")
    reason = "a short script with exact decoding rules"
    distractors = [DistractorDraft(fn="repo_token_count", args={**args, "case_insensitive": False},
                                   why="counted case-sensitively")]


class HasLicense(_Easy):
    name = "has_license_file"
    key, fn, type, shape = "has_license", "has_license_file", "json", "<true|false>"
    args = {"paths": ["LICENSE", "LICENSE.md"]}
    question = "Is there a LICENSE or LICENSE.md file at the repository root?"
    reason = "one ls"


class PythonCount(_Easy):
    name = "glob_count_py"
    key, fn = "python_file_count", "glob_count"
    args = {"glob": "**/*.py", "exclude_dirs": EXCL}
    question = f"How many Python files (*.py) are in the repository, {EXCL_TEXT}?"
    reason = "one find | wc pipeline"
    distractors = [DistractorDraft(fn="glob_count", args={"glob": "*.py"}, why="counted only the root directory")]


class DocsEntries(_Easy):
    name = "dir_top_entry_count_docs"
    key, fn = "docs_top_entries", "dir_top_entry_count"
    args = {"path": "docs", "exclude_hidden": True}
    question = ("How many visible entries (names not starting with a dot) are directly inside the top-level docs/ "
                "directory? Answer 0 if there is no docs/ directory.")
    reason = "one ls of docs/"


class AnswerMdSummary(Template):
    name = "answer_md_kv_matches"
    tier = "easy"
    one_pipeline = True  # ls | wc and ls LICENSE, echoed into a file

    def candidates(self, ctx: Context) -> list[Candidate]:
        text = ("Create the file eval_artifacts/answer.md with exactly these three lines, one key per line:\n"
                f"repo_id: {ctx.repo_id}\ntop_level_entries: <int>\nhas_license: <true|false>\n"
                "where top_level_entries is the number of visible (non-dot) entries directly in the repository root "
                "excluding eval_artifacts/, and has_license is true iff LICENSE or LICENSE.md exists at the root.")
        args = {"path": "eval_artifacts/answer.md", "repo_id": ctx.repo_id, "exclude_top_level": EXCL, "exclude_hidden": True}
        return [Candidate(template=self.name, params={}, key="answer_md_valid", type="oracle_bool",
                          fn="answer_md_kv_matches", args=args, instruction=text, difficulty="easy",
                          reason="count the root, check the license, write a key: value file")]


EASY: list[Template] = [TopLevelEntries(), ReadmeFirstLine(), MarkdownCount(), LargestFile(), YamlCount(),
                        TokenCount(), HasLicense(), PythonCount(), DocsEntries(), AnswerMdSummary()]
