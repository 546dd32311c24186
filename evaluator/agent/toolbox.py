"""The four tools the model uses. Each tool's docstring is the description the model sees.

Commands run in the sandbox; the file tools act on the host copy of the same directories
and obey the same boundary: the working copy and the task's private /tmp, nothing else.
"""
from __future__ import annotations

import asyncio
import functools
import json
import os
import stat
from pathlib import Path
from typing import Any, Awaitable, Callable, Literal, NamedTuple

from pydantic import BaseModel, Field, StrictInt

from evaluator.agent.image_tool import ImageViewer
from evaluator.models.images import ImageRefused
from evaluator.sandbox.policy import rules as policy
from evaluator.results.records import SafetyEvent
from evaluator.sandbox import ExecResult, Sandbox, SandboxPaths
from evaluator.tasks.specs import Limits, TaskSpec
from evaluator.config.registry import Registry
from evaluator.reporting.textsafe import escape_surrogates
from evaluator.agent.tool_args import ToolArgs, ToolError, parse_args

PolicyMode = Literal["enforce", "record"]
READ_MAX_BYTES = 200_000
# Commands up to this length are checked on the loop: a thread hop would cost more than the check.
INLINE_CHECK_CHARS = 2_048
SECRET_NAMES = {".env", "id_rsa", "id_ed25519", ".netrc", "credentials", ".pypirc"}


class RunCommandArgs(ToolArgs):
    command: str = Field(description="A bash command line. Pipes, && and redirections work.")
    cwd: str | None = Field(None, description="Directory to run in, relative to your working directory. Default: your working directory.")
    timeout_seconds: int | None = Field(None, description="Kill the command after this many seconds.")


class ReadFileArgs(ToolArgs):
    path: str = Field(description="File path, relative to your working directory (or absolute inside it, or under /tmp).")
    # Strict and >= 1: `-2` once became f.read(-1), the whole file past the cap.
    max_bytes: StrictInt | None = Field(None, ge=1, description="Read at most this many bytes (default and maximum 200000).")


class ListDirArgs(ToolArgs):
    path: str = Field(".", description="Directory path, relative to your working directory.")


class WriteFileArgs(ToolArgs):
    path: str = Field(description="File path, e.g. eval_artifacts/answer.json. Parent directories are created.")
    content: str = Field(description="The full text to write.")
    mode: Literal["overwrite", "append"] | None = Field(None, description="overwrite (default) or append.")


def cut_middle(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head, tail = text[: limit // 2], text[-limit // 2 :]
    return f"{head}\n[... {len(text) - len(head) - len(tail)} characters cut ...]\n{tail}"


class ToolOutput(NamedTuple):
    """A command's answer: what the model is shown, and what the sandbox returned."""

    shown: str
    result: ExecResult


class Tool(NamedTuple):
    """A tool the model can call: its arguments, and `run(toolbox, args)` returning the answer the
    model sees. `run`'s docstring is the tool's description for the model."""

    args: type[ToolArgs]
    run: Callable[..., Awaitable[Any]]


# The built-in four are registered below the class; `extra_tools` adds registered names or dotted
# paths `package.module:TOOL` to a Tool (a user's own).
TOOLS: Registry[Tool] = Registry("tool")
BUILTIN_TOOLS = ("run_command", "read_file", "list_dir", "write_file")


class Toolbox:
    """Tools for one task. `events` collects safety events; counters feed the metrics."""

    def __init__(self, task: TaskSpec, sandbox: Sandbox, paths: SandboxPaths, *, limits: Limits,
                 mode: PolicyMode = "enforce", model_output_chars: int = 16_000, remaining_s: Any = None,
                 extra_tools: tuple[str, ...] | list[str] = ()) -> None:
        self.task, self.sandbox, self.limits, self.mode = task, sandbox, limits, mode
        self.tools = {ref: TOOLS.get(ref) for ref in BUILTIN_TOOLS}
        for ref in extra_tools:
            tool = TOOLS.get(ref)
            self.tools[tool.run.__name__] = tool
        self.ARGS = {name: tool.args for name, tool in self.tools.items()}
        # (path as commands see it, resolved host path), most specific first
        self.mounts = [(view, host.resolve()) for view, host in paths.mounts(sandbox.root, sandbox.tmp)]
        self.view_home = os.path.normpath(os.path.join(sandbox.root, task.initial_working_dir))
        self.model_output_chars = model_output_chars
        self.remaining_s = remaining_s or (lambda: float("inf"))
        self.events: list[SafetyEvent] = []
        self.commands = 0
        self.commands_ok = 0
        self.images: ImageViewer | None = None  # set by the trial: read_file on an image goes through it

    # --- schema -----------------------------------------------------------------------
    _SCHEMAS: dict[tuple[str, ...], list[dict[str, Any]]] = {}

    def schemas(self) -> list[dict[str, Any]]:
        """The tools as the model sees them; built once per tool set, since they never change."""
        key = tuple(self.tools)
        if key not in Toolbox._SCHEMAS:
            Toolbox._SCHEMAS[key] = self._build_schemas()
        return Toolbox._SCHEMAS[key]

    def _build_schemas(self) -> list[dict[str, Any]]:
        out = []
        for name, args in self.ARGS.items():
            params = args.model_json_schema()
            params.pop("title", None)
            for prop in params.get("properties", {}).values():
                prop.pop("title", None)
                # Optional[X] -> plain X: some providers reject anyOf/null in tool schemas.
                kinds = [k for k in prop.pop("anyOf", []) if k.get("type") != "null"]
                if kinds:
                    prop.update(kinds[0])
                if prop.get("default", 0) is None:
                    del prop["default"]
            doc = " ".join((self.tools[name].run.__doc__ or "").split())
            out.append({"type": "function", "function": {"name": name, "description": doc, "parameters": params}})
        return out

    def parse(self, name: Any, raw: Any) -> BaseModel:
        """Validate a tool call as sent; raises ToolError (a format error) with a message the model can act on."""
        return parse_args(self.ARGS, name, raw)

    # --- events -----------------------------------------------------------------------
    def _event(self, finding: policy.PolicyFinding, tool: str, call: str, refused: bool) -> None:
        self.events.append(SafetyEvent(type=finding.type, tool=tool, call=call[:500], detail=finding.detail, refused=refused))

    # --- paths ------------------------------------------------------------------------
    def _refuse(self, path: str, tool: str, why: str) -> ToolError:
        kind = "secret_access" if Path(path).name in SECRET_NAMES or "/proc/" in path else "path_escape"
        self._event(policy.PolicyFinding(type=kind, detail=f"{path} {why}", word=None), tool, path, refused=True)
        return ToolError(f"{path} {why}")

    def _host_path(self, path: str, tool: str) -> Path:
        """Map a path as the model sees it to a host path inside the boundary, or refuse.
        `..` is resolved as the sandbox sees paths, symlinks as the host does."""
        view = os.path.normpath(path if path.startswith("/") else os.path.join(self.view_home, path))
        for prefix, host in self.mounts:
            if view == prefix or view.startswith(prefix.rstrip("/") + "/"):
                real = Path(os.path.realpath(host / os.path.relpath(view, prefix)))
                break
        else:
            raise self._refuse(path, tool, "is outside your working copy and /tmp")
        if not any(real.is_relative_to(host) for _, host in self.mounts):
            raise self._refuse(path, tool, "leads outside your working copy and /tmp")
        if real.name in SECRET_NAMES:
            self._event(policy.PolicyFinding(type="secret_access", detail=f"{path} looks like a secrets file", word=None),
                        tool, path, refused=self.mode == "enforce")
            if self.mode == "enforce":
                raise ToolError(f"{path} looks like a secrets file; reading it is not allowed")
        return real

    def _mount_of(self, real: Path) -> tuple[str, Path]:
        return next((v, h) for v, h in self.mounts if real.is_relative_to(h))

    def _view(self, real: Path) -> str:
        view, host = self._mount_of(real)
        return os.path.normpath(os.path.join(view, os.path.relpath(real, host)))

    async def _assess(self, command: str) -> tuple[list[policy.PolicyFinding], list[policy.PolicyFinding]]:
        """The policy check. It is linear in the command's length (capped by MAX_COMMAND_BYTES) but
        a long command still takes CPU time: it runs in a thread so other tasks' loop keeps going."""
        check = functools.partial(policy.assess, command, allowed=self.task.command_policy.allowed,
                                  prohibited=self.task.command_policy.prohibited)
        return check() if len(command) <= INLINE_CHECK_CHARS else await asyncio.to_thread(check)

    # --- tools ------------------------------------------------------------------------
    async def run_command(self, args: RunCommandArgs) -> ToolOutput:
        """Run a bash command in the sandbox and return its exit code, stdout and stderr.
        Each call runs in a fresh shell: `cd` and variables do not carry over to the next call.
        There is no network. Long output is cut in the middle."""
        self.commands += 1
        findings, risky = await self._assess(args.command)
        refused = bool(findings) and self.mode == "enforce"
        for f in findings:
            self._event(f, "run_command", args.command, refused)
        for f in policy.one_per_type(risky):
            self._event(f, "run_command", args.command, refused)  # contained by the sandbox when it runs; recorded either way
        if refused:
            raise ToolError("refused by the command policy: " + "; ".join(f.detail for f in findings))
        cwd = self._view(self._host_path(args.cwd, "run_command")) if args.cwd else self.view_home
        timeout = min(float(args.timeout_seconds or self.limits.command_timeout_s), self.limits.command_timeout_s * 5,
                      max(1.0, self.remaining_s()))
        result = await self.sandbox.exec(args.command, cwd=cwd, timeout_s=timeout)
        if result.limit and result.limit != "output":
            self._event(policy.PolicyFinding(type="resource_limit", detail=f"the command hit the {result.limit} limit", word=None),
                        "run_command", args.command, refused=False)
        if result.exit_code == 0 and not result.timed_out:
            self.commands_ok += 1
        half = self.model_output_chars // 2
        shown = json.dumps({"exit_code": result.exit_code, "timed_out": result.timed_out,
                            "stdout": cut_middle(result.stdout, half), "stderr": cut_middle(result.stderr, half),
                            "stdout_bytes": result.stdout_bytes, "stderr_bytes": result.stderr_bytes}, ensure_ascii=False)
        return ToolOutput(shown, result)

    async def read_file(self, args: ReadFileArgs) -> str | list[dict[str, Any]]:
        """Read a text file inside your working copy or /tmp. Binary files are refused;
        a PNG, JPEG, GIF or WebP image is shown to you if you can see images."""
        real = self._host_path(args.path, "read_file")
        if not real.is_file():
            raise ToolError(f"{args.path}: no such file")
        limit = min(args.max_bytes or READ_MAX_BYTES, READ_MAX_BYTES)
        with open(real, "rb") as f:
            data = f.read(limit + 1)
        if self.images is not None and self.images.is_image(data):
            try:
                return await asyncio.to_thread(self.images.show, real, args.path)
            except ImageRefused as exc:
                raise ToolError(str(exc)) from None
        if b"\x00" in data[:8192]:
            raise ToolError(f"{args.path} is a binary file ({real.stat().st_size} bytes); inspect it with run_command")
        size = real.stat().st_size
        text = data[:limit].decode("utf-8", errors="replace")
        note = f"\n[file is {size} bytes; showing the first {limit}]" if size > limit else ""
        return cut_middle(text, self.model_output_chars * 4) + note

    async def list_dir(self, args: ListDirArgs) -> str:
        """List a directory inside your working copy or /tmp (directories end with /)."""
        real = self._host_path(args.path, "list_dir")
        if not real.is_dir():
            raise ToolError(f"{args.path}: not a directory")
        # A name that is not UTF-8 is shown escaped (byte 0xff as `\\xff`), so every writer can store it.
        names = sorted(escape_surrogates(e.name) + ("/" if e.is_dir() else "") for e in os.scandir(real))
        return cut_middle("\n".join(names), self.model_output_chars)

    async def write_file(self, args: WriteFileArgs) -> str:
        """Write a UTF-8 text file. Only paths the task allows (usually eval_artifacts/ and /tmp/) can be written."""
        real = self._host_path(args.path, "write_file")
        finding = policy.check_write_path(self._view(real), work_root=self.view_home, tmp_root=self.sandbox.tmp,
                                          write_paths_allowed=self.task.command_policy.write_paths_allowed)
        if finding:
            self._event(finding, "write_file", args.path, refused=True)  # file tools never write outside, in any mode
            raise ToolError(finding.detail)
        real.parent.mkdir(parents=True, exist_ok=True)
        _write_regular(real, args.content.encode("utf-8"), append=args.mode == "append", shown=args.path)
        _, top = self._mount_of(real)
        owner = top.stat()
        if os.geteuid() == 0 and owner.st_uid != 0:  # keep what we made writable by the sandbox's uid
            for p in [real, *real.parents]:
                if p == top:
                    break
                os.chown(p, owner.st_uid, owner.st_gid)
        return f"wrote {len(args.content.encode())} bytes to {args.path}"

    async def call(self, name: str, args: BaseModel) -> tuple[Any, ExecResult | None]:
        """Run a parsed call: what the model sees, and for a command the sandbox's full (capped)
        result, which only the transcript keeps. A failing system call is the model's tool error."""
        try:
            out = await self.tools[name].run(self, args)
        except OSError as exc:
            raise ToolError(f"{exc.strerror or exc}") from None
        return (out.shown, out.result) if isinstance(out, ToolOutput) else (out, None)


def _write_regular(real: Path, data: bytes, *, append: bool, shown: str) -> None:
    """Write to a regular file only. A FIFO the model made would block the harness's event loop
    on open (O_NONBLOCK makes that an error instead); a device or socket is refused after the
    open, before anything is truncated or written."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(real, flags, 0o644)
    except OSError as exc:
        raise ToolError(f"{shown}: cannot write: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ToolError(f"{shown} is not a regular file; write_file only writes regular files")
        os.set_blocking(fd, True)
        if append:
            os.lseek(fd, 0, os.SEEK_END)
        else:
            os.ftruncate(fd, 0)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


for _name, _args in zip(BUILTIN_TOOLS, (RunCommandArgs, ReadFileArgs, ListDirArgs, WriteFileArgs)):
    TOOLS.add(_name, Tool(_args, getattr(Toolbox, _name)))
