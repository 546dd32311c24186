"""`agentgym COMMAND ...`: one console command for every `python -m evaluator.COMMAND`.

Exit codes are the command's own (see `agentgym COMMAND --help`); 2 for an unknown command."""
from __future__ import annotations

import importlib
import sys

# command -> (module with main(argv), one line of help)
COMMANDS = {
    "run": ("evaluator.cli.run", "evaluate a model on a task set"),
    "validate": ("evaluator.tasks.validation", "prove every selected task is valid by machine"),
    "merge": ("evaluator.results.merge", "combine shard runs into one run"),
    "compare": ("evaluator.cli.compare", "leaderboard and regression check of runs"),
    "generate": ("evaluator.generate.__main__", "generate a validated task set for a repository"),
    "view": ("evaluator.view.__main__", "write the HTML viewer of runs"),
    "bench": ("evaluator.cli.bench", "measure what the harness adds to the model's latency"),
    "schemadoc": ("evaluator.results.schemadoc", "write docs/result-schema.md from the result models"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {help_}" for name, (_, help_) in COMMANDS.items()]
    return "usage: agentgym COMMAND [ARGS...]\n\ncommands:\n" + "\n".join(lines) + \
        "\n\n`agentgym COMMAND --help` shows a command's options and exit codes."


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0 if args else 2
    name, rest = args[0], args[1:]
    if name not in COMMANDS:
        print(f"agentgym: unknown command {name!r}.\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    sys.argv = [f"agentgym {name}", *rest]  # so argparse's usage line names the command as typed
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
