#!/usr/bin/env python3
"""Evaluate several models in parallel, one tmux window each, plus a live status window.

    python tools/run_parallel_eval_tmux.py --config FILE [--attach] [--kill-existing]
                                           [--print-commands] [--socket NAME]

Config (JSON, see tools/parallel_eval_config.example.json):
  session_name   tmux session name (letters, digits, '_' and '-'; default "agentgym")
  repo_root      the AgentGym checkout the evaluator runs in (default "."; relative to the CWD)
  runs_root      each model's runs go to <runs_root>/<model_slug>/ (default "runs"; "~" expands)
  repos          list (or comma-separated string) of repo ids (default: the evaluator's default)
  task_set       task set (default "l1")
  dry_run        true: pass --dry-run (validate and print the plan; no model calls)
  extra_args     extra evaluator flags for every model, e.g. ["--sandbox", "local"] (default [])
  models         [{model_id, api_key, base_url, temperature, max_output_tokens,
                   include_reasoning_content}], only model_id is required
    api_key      NAME of an environment variable holding the key (not the key itself). Its value
                 reaches the evaluator as OPENAI_API_KEY in that window's environment; it is sent
                 to tmux over stdin (`tmux source-file -`), so it never appears on a command line.
                 Omitted: OPENAI_API_KEY is forwarded if set, else the evaluator reads repo_root/.env.
                 builtin/oracle and builtin/nop need no key.

Windows: "status" (progress of every model from its manifest.json and trials; when every model
window has exited it runs `python -m evaluator.compare <first model's run> <other runs> --out
<runs_root>/compare` and prints the verdicts), then one window per model running
`python -m evaluator.run ... --runs-root <runs_root>/<model_slug> --quiet`. Every window has
remain-on-exit on, so its output stays readable after it exits. Each model window's shell writes
the evaluator's exit status to <runs_root>/<model_slug>/window-exit-status; the status window reads
that file, not tmux's pane status, which tmux 3.3a sometimes never records.

Options:
  --print-commands  print the equivalent shell lines and start nothing: the first tmux command, then
                    `tmux source-file - <<EOF` with the rest, keys written as ${VARNAME} so the shell
                    sends them on tmux's stdin, never on a command line (default off)
  --kill-existing   kill a session of the same name first (otherwise an existing session is an error)
  --attach          attach to the session after starting it
  --socket NAME     use a private tmux server (`tmux -L NAME`), e.g. for tests

Exit codes:
  0  session started (or commands printed)
  1  a tmux command failed unexpectedly
  2  usage or config error: unreadable/invalid config, api_key variable not set, tmux missing,
     session already exists without --kill-existing (nothing is started)
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from pydantic import BaseModel, Field

from tmux_eval_config import (BUILTIN, DEFAULT_KEY_VAR, EXIT_FILE, STATUS_WINDOW, Config, ModelEntry, UsageError,
                              load_config, slug)
from tmux_eval_status import status_loop

# --- plan: the tmux commands -----------------------------------------------------------------

class Step(BaseModel):
    """One tmux command. env_from maps a variable set in the new window to the variable we read it from."""

    args: list[str]
    env_from: dict[str, str] = Field(default_factory=dict)


def key_var(m: ModelEntry) -> str | None:
    if m.model_id in BUILTIN:
        return None
    if m.api_key:
        return m.api_key
    return DEFAULT_KEY_VAR if os.environ.get(DEFAULT_KEY_VAR) else None


def eval_command(cfg: Config, m: ModelEntry) -> list[str]:
    cmd = [sys.executable, "-m", "evaluator.run", "--model", m.model_id, "--task-set", cfg.task_set]
    if cfg.repos:
        cmd += ["--repos", ",".join(cfg.repos)]
    if m.base_url:
        cmd += ["--base-url", m.base_url]
    if m.temperature is not None:
        cmd += ["--temperature", str(m.temperature)]
    if m.max_output_tokens is not None:
        cmd += ["--max-output-tokens", str(m.max_output_tokens)]
    if m.include_reasoning_content:
        cmd.append("--include-reasoning-content")
    if cfg.dry_run:
        cmd.append("--dry-run")
    return cmd + ["--runs-root", str(cfg.runs_root / slug(m.model_id)), "--quiet", *cfg.extra_args]




def shell_line(cfg: Config, argv: list[str], exit_file: Path | None = None) -> str:
    """cd to the checkout and run argv; the shell exits with its status. With exit_file the shell
    also writes the status there: tmux 3.3a sometimes never reaps a pane's process (it stays a
    zombie, the pane dead with no status), so the status window cannot rely on tmux for it."""
    cd = f"cd {shlex.quote(str(cfg.repo_root))}"
    if exit_file is None:
        return f"{cd} && exec {shlex.join(argv)}"
    target = shlex.quote(str(exit_file))
    return f"{cd} || exit 2; {shlex.join(argv)}; rc=$?; echo $rc > {target}; exit $rc"


def plan(cfg: Config, config_path: Path, launched_at: int) -> list[Step]:
    s = cfg.session_name
    status = [sys.executable, str(Path(__file__).resolve()), "--status", "--config", str(config_path),
              "--launched-at", str(launched_at)]
    # The session starts with a shell, gets remain-on-exit, then the shell is replaced by the
    # status loop: no window can exit before remain-on-exit is set.
    steps = [Step(args=["new-session", "-d", "-s", s, "-n", STATUS_WINDOW, "-c", str(cfg.repo_root)]),
             Step(args=["set-option", "-w", "-t", f"={s}:={STATUS_WINDOW}", "remain-on-exit", "on"]),
             Step(args=["respawn-pane", "-k", "-t", f"={s}:={STATUS_WINDOW}", shell_line(cfg, status)])]
    for m in cfg.models:
        win = slug(m.model_id)
        var = key_var(m)
        env = {DEFAULT_KEY_VAR: var} if var else {}
        new = ["new-window", "-d", "-t", f"={s}:", "-n", win, "-c", str(cfg.repo_root)]
        for target in env:
            new += ["-e", f"{target}=${{{target}}}"]  # placeholder; the real value is filled in at send time
        exit_file = cfg.runs_root / win / EXIT_FILE
        steps.append(Step(args=[*new, shell_line(cfg, eval_command(cfg, m), exit_file)], env_from=env))
        # Same command batch as new-window, so it takes effect before the pane can exit.
        steps.append(Step(args=["set-option", "-w", "-t", f"={s}:={win}", "remain-on-exit", "on"]))
    return steps


def _with_env(step: Step, value_of: dict[str, str]) -> list[str]:
    out = []
    for a in step.args:
        for target, source in step.env_from.items():
            if a == f"{target}=${{{target}}}":
                a = f"{target}={value_of[source]}"
        out.append(a)
    return out


def printable(steps: list[Step], tmux: list[str]) -> str:
    """The launch as shell lines to paste: the first command on the command line, the rest as one
    batch on tmux's stdin, exactly as `launch` does it, so a key never reaches any argv. The batch
    is an unquoted here-document: the shell fills in only `${VAR}` for each key; every other `$`,
    backquote and backslash is escaped."""
    def heredoc_safe(text: str) -> str:
        return text.replace("\\", "\\\\").replace("$", "\\$").replace("`", "\\`")

    lines = []
    for step in steps[1:]:
        parts = []
        for a in step.args:
            source = next((src for target, src in step.env_from.items() if a == f"{target}=${{{target}}}"), None)
            if source is not None:
                target = a.split("=", 1)[0]
                parts.append(f"'{target}=${{{source}}}'")  # expanded by the shell into tmux's stdin only
            else:
                parts.append(heredoc_safe(tmux_quote(a)))
        lines.append(" ".join(parts))
    first = " ".join(map(shlex.quote, [*tmux, *steps[0].args]))
    batch = " ".join(map(shlex.quote, [*tmux, "source-file", "-"]))
    return f"{first}\n{batch} <<EOF\n" + "\n".join(lines) + "\nEOF"


def tmux_quote(arg: str) -> str:
    # tmux's command parser: single quotes are literal; '\'' splices in a quote, as in sh.
    return "'" + arg.replace("'", "'\\''") + "'"


# --- launch ----------------------------------------------------------------------------------

def tmux_base(socket: str | None) -> list[str]:
    return ["tmux", *(["-L", socket] if socket else [])]


def session_exists(tmux: list[str], name: str) -> bool:
    return subprocess.run([*tmux, "has-session", "-t", f"={name}"], capture_output=True).returncode == 0


def launch(cfg: Config, steps: list[Step], tmux: list[str], kill_existing: bool) -> None:
    if shutil.which(tmux[0]) is None:
        raise UsageError("tmux not found; install it (e.g. `sudo apt-get install -y tmux`)")
    values: dict[str, str] = {}
    for step in steps:
        for source in step.env_from.values():
            value = os.environ.get(source)
            if not value:
                raise UsageError(f"environment variable {source} (an api_key in the config) is not set")
            if "\n" in value or "\r" in value:
                raise UsageError(f"environment variable {source} contains a newline")
            values[source] = value
    if session_exists(tmux, cfg.session_name):
        if not kill_existing:
            raise UsageError(f"tmux session {cfg.session_name!r} already exists; attach to it, or rerun with --kill-existing")
        subprocess.run([*tmux, "kill-session", "-t", f"={cfg.session_name}"], capture_output=True)
    for d in [cfg.runs_root / slug(m.model_id) for m in cfg.models]:
        d.mkdir(parents=True, exist_ok=True)
        (d / EXIT_FILE).unlink(missing_ok=True)  # a previous launch's status is not this one's
    first, rest = steps[0], steps[1:]
    subprocess.run([*tmux, *first.args], check=True)
    # All remaining commands go to tmux as one batch on stdin: keys stay off every command line
    # (not visible in `ps`), and each set-option runs before its window can exit.
    batch = "\n".join(" ".join(tmux_quote(a) for a in _with_env(s, values)) for s in rest) + "\n"
    subprocess.run([*tmux, "source-file", "-"], input=batch, text=True, check=True)


# --- status window ---------------------------------------------------------------------------

# --- CLI -------------------------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python tools/run_parallel_eval_tmux.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", required=True, type=Path, help="JSON config (see tools/parallel_eval_config.example.json; required).")
    p.add_argument("--attach", action="store_true", help="Attach to the session after starting it (default off).")
    p.add_argument("--kill-existing", action="store_true", help="Kill an existing session of the same name first (default off: exit 2).")
    p.add_argument("--print-commands", action="store_true",
                   help="Print the equivalent shell lines (keys go to tmux on stdin, as ${VARNAME}); start nothing (default off).")
    p.add_argument("--socket", metavar="NAME", help="Private tmux server socket name (tmux -L NAME) (default: the default server).")
    p.add_argument("--status", action="store_true", help=argparse.SUPPRESS)  # internal: the status window
    p.add_argument("--launched-at", type=int, default=0, help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        config_path = args.config.expanduser().resolve()
        cfg = load_config(config_path)
        if args.status:
            return status_loop(cfg, args.launched_at)
        tmux = tmux_base(args.socket)
        steps = plan(cfg, config_path, int(time.time()))
        if args.print_commands:
            print(printable(steps, tmux))
            return 0
        launch(cfg, steps, tmux, args.kill_existing)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"error: tmux failed (exit {exc.returncode}): {shlex.join(map(str, exc.cmd[:4]))} ...", file=sys.stderr)
        return 1
    windows = ", ".join([STATUS_WINDOW, *(slug(m.model_id) for m in cfg.models)])
    attach = shlex.join([*tmux, "attach", "-t", cfg.session_name])
    print(f"tmux session {cfg.session_name} started: windows {windows}; attach with: {attach}")
    if args.attach:
        return subprocess.run([*tmux, "attach", "-t", f"={cfg.session_name}"]).returncode
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
