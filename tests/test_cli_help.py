"""Issue 20 item 14: every CLI entry point documents every option, its default and its exit codes
in --help. The parsers are taken from the real `main` functions, not a copy of their options."""
from __future__ import annotations

import argparse
import importlib
import inspect
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENTRY_POINTS = ["evaluator.run", "evaluator.validate", "evaluator.merge", "evaluator.compare", "evaluator.generate.__main__",
                "evaluator.bench", "evaluator.benchmark.floor", "evaluator.schemadoc", "tools.build_demo_bundle",
                "tools.check_third_party_server", "tools.publish_results", "tools.run_parallel_eval_tmux",
                "tools.generate_l1_tasks"]


class _Caught(Exception):
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser


def parser_of(module_name: str, monkeypatch: pytest.MonkeyPatch) -> argparse.ArgumentParser:
    """The parser `main()` builds: stopped at its first parse_args call."""
    if module_name.startswith("tools."):
        monkeypatch.syspath_prepend(str(ROOT / "tools"))
    module = importlib.import_module(module_name)

    def catch(self: argparse.ArgumentParser, *args: object, **kwargs: object) -> None:
        raise _Caught(self)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", catch)
    monkeypatch.setattr(argparse.ArgumentParser, "parse_known_args", catch)
    with pytest.raises(_Caught) as got:
        module.main([]) if inspect.signature(module.main).parameters else module.main()
    return got.value.parser


@pytest.mark.parametrize("module_name", ENTRY_POINTS)
def test_every_option_has_help_with_its_default_and_exit_codes(module_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    parser = parser_of(module_name, monkeypatch)
    text = parser.format_help()
    assert "Exit codes" in text or "exit codes" in text, f"{module_name}: --help does not list exit codes"
    missing, no_default = [], []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
            continue
        name = "/".join(action.option_strings) or action.dest
        if not action.help:
            missing.append(name)
        elif action.option_strings and not action.required and "default" not in action.help.lower():
            no_default.append(name)
    assert not missing, f"{module_name}: options without help: {missing}"
    assert not no_default, f"{module_name}: options whose help does not give the default: {no_default}"
