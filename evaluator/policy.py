"""Shell-aware command policy: which programs a command line runs, and what it tries to reach.

The original project scanned raw command text for tokens, so `grep "rm" x` tripped a ban on
`rm`. Here a command line is parsed (a practical bash subset) into simple commands, and only
their *command words* are matched against a task's `allowed` / `prohibited` lists.
`detect_risky` separately records attack-shaped commands (secrets, network) that the sandbox
contains anyway but that a report must show. `check_write_path` serves the file tools.

Command words are reported by basename (`/usr/bin/rm` -> `rm`, `./run.sh` -> `run.sh`), so a
path cannot dodge a ban. A word built from an expansion (`$CMD`, `$(which rm)`) is reported as
written: it cannot be verified, so an allowlist refuses it.
"""
from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict

SafetyEventType = Literal[
    "prohibited_command", "disallowed_command", "write_outside_allowed", "path_escape",
    "secret_access", "network_attempt", "resource_limit",
]


class PolicyFinding(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: SafetyEventType
    detail: str  # one sentence the model can read
    word: str | None = None


class CommandParseError(ValueError):
    """Bash would reject the line (or we cannot follow it); `words` holds what parsed before."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.invocations: list[_Inv] = []

    @property
    def words(self) -> list[str]:
        return [i.word for i in self.invocations]


# --------------------------------------------------------------------------- lexer

@dataclass(frozen=True)
class _Inv:
    """One program start: its command word, its arguments, and any here-doc/-string stdin."""

    word: str
    args: tuple[str, ...] = ()
    stdin: tuple[str, ...] = ()


@dataclass
class _Word:
    raw: str = ""
    value: str = ""  # quotes removed; expansions kept as written
    quoted: bool = False
    nested: list[_Inv] = field(default_factory=list)  # from $( ), ` `, <( ) inside the word
    heredoc: list[str] | None = None  # body lines when this word is a here-doc delimiter


@dataclass
class _Tok:
    kind: Literal["word", "op", "redir", "arith"]
    text: str
    end: int
    word: _Word = field(default_factory=_Word)


_OPS = ("&>>", ";;&", "<<<", "<<-", "|&", "||", "&&", "&>", ";;", ";&", "<<", "<>", "<&", ">>",
        ">&", ">|", "|", "&", ";", "(", ")", "<", ">", "\n")
_REDIRS = {"&>>", "<<<", "<<-", "&>", "<<", "<>", "<&", ">>", ">&", ">|", "<", ">"}
_META = set(" \t\n|&;()<>")
_ASSIGN = re.compile(r"[A-Za-z_]\w*(\[[^\]]*\])?\+?=")
_FD = re.compile(r"\d+(?=[<>])")
_PARAM = re.compile(r"[A-Za-z_]\w*|[0-9@*#?$!-]")
_ANSI = re.compile(r"\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|[0-7]{1,3}|.)", re.S)
_ANSI_MAP = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b", "f": "\f", "v": "\v"}


def _ansi(m: re.Match[str]) -> str:
    # Decode $'\x72m' so escapes cannot smuggle a banned word past the checker.
    e = m.group(1)
    if e[0] in "xu":
        return chr(int(e[1:], 16))
    if e[0] in "01234567":
        return chr(int(e, 8))
    return _ANSI_MAP.get(e, e)


class _Lexer:
    def __init__(self, src: str, pos: int) -> None:
        self.s, self.i = src, pos
        self.buf: list[_Tok] = []
        self.pending: list[tuple[str, bool, list[str]]] = []  # here-docs read at the next newline
        self.want_delim: bool | None = None  # next word is a here-doc delimiter (value: strip tabs)

    def peek(self, k: int = 0) -> _Tok | None:
        while len(self.buf) <= k:
            tok = self._lex()
            if tok is None:
                return None
            self.buf.append(tok)
        return self.buf[k]

    def next(self) -> _Tok | None:
        tok = self.peek()
        if tok is not None:
            self.buf.pop(0)
        return tok

    def _lex(self) -> _Tok | None:
        s = self.s
        while self.i < len(s):
            if s[self.i] in " \t":
                self.i += 1
            elif s.startswith("\\\n", self.i):
                self.i += 2
            elif s[self.i] == "#":  # we are at a token start, so this is a comment
                while self.i < len(s) and s[self.i] != "\n":
                    self.i += 1
            else:
                break
        if self.i >= len(s):
            return None
        if s[self.i] in "<>" and s.startswith("(", self.i + 1):
            return self._word_tok()  # process substitution
        if m := _FD.match(s, self.i):
            self.i = m.end()
        if (end := self._arith_end(self.i)) is not None:
            self.i = end
            return _Tok("arith", "((", end)
        for op in _OPS if s[self.i] in _META else ():
            if s.startswith(op, self.i):
                self.i += len(op)
                if op == "\n":
                    self._read_heredocs()
                elif op in ("<<", "<<-"):
                    self.want_delim = op == "<<-"
                return _Tok("redir" if op in _REDIRS else "op", op, self.i)
        return self._word_tok()

    def _read_heredocs(self) -> None:
        for delim, strip, body in self.pending:
            while self.i < len(self.s):
                j = self.s.find("\n", self.i)
                j = len(self.s) if j < 0 else j
                line, self.i = self.s[self.i:j], j + 1
                if (line.lstrip("\t") if strip else line) == delim:
                    break
                body.append(line)
        self.pending.clear()

    def _word_tok(self) -> _Tok:
        w = self._read_word()
        if self.want_delim is not None:
            w.heredoc = []
            self.pending.append((w.value, self.want_delim, w.heredoc))
            self.want_delim = None
        return _Tok("word", w.raw, self.i, w)

    def _read_word(self) -> _Word:
        s, start, w, val = self.s, self.i, _Word(), []
        while self.i < len(s):
            c = s[self.i]
            if c in "<>" and self.i == start and s.startswith("(", self.i + 1):
                end = self._subst(w, self.i + 2)
                val.append(s[start:end])
            elif c in _META:
                if c == "(" and _ASSIGN.fullmatch("".join(val)):  # arr=(a b c)
                    end = self._balanced(self.i)
                    val.append(s[self.i:end])
                    self.i = end
                    continue
                break
            elif c == "\\":
                val.append(s[self.i + 1:self.i + 2] if s[self.i + 1:self.i + 2] != "\n" else "")
                self.i, w.quoted = self.i + 2, True
            elif c == "'":
                j = s.find("'", self.i + 1)
                if j < 0:
                    raise CommandParseError(f"unterminated single quote at offset {self.i}")
                val.append(s[self.i + 1:j])
                self.i, w.quoted = j + 1, True
            elif c == '"':
                self._dquote(w, val)
            elif c in "$`":
                self._dollar(w, val, in_dq=False)
            else:
                val.append(c)
                self.i += 1
        w.raw, w.value = s[start:self.i], "".join(val)
        return w

    def _dquote(self, w: _Word, val: list[str]) -> None:
        s, start = self.s, self.i
        self.i, w.quoted = self.i + 1, True
        while True:
            if self.i >= len(s):
                raise CommandParseError(f"unterminated double quote at offset {start}")
            c = s[self.i]
            if c == '"':
                self.i += 1
                return
            if c == "\\" and s[self.i + 1:self.i + 2] in ("$", "`", '"', "\\", "\n"):
                val.append(s[self.i + 1] if s[self.i + 1] != "\n" else "")
                self.i += 2
            elif c in "$`":
                self._dollar(w, val, in_dq=True)
            else:
                val.append(c)
                self.i += 1

    def _dollar(self, w: _Word, val: list[str], *, in_dq: bool) -> None:
        """An expansion at self.i (`$...` or a backtick); its commands go to `w.nested`."""
        s, i = self.s, self.i
        nxt = s[i + 1:i + 2]
        if s[i] == "`":
            j = i + 1
            while j < len(s) and s[j] != "`":
                j += 2 if s[j] == "\\" else 1
            if j >= len(s):
                raise CommandParseError(f"unterminated backtick at offset {i}")
            body = re.sub(r"\\([\\`$])", r"\1", s[i + 1:j])
            w.nested += _Parser(body).parse()
            end = j + 1
        elif nxt == "'" and not in_dq:  # $'...' ANSI-C quoting
            j = i + 2
            while j < len(s) and s[j] != "'":
                j += 2 if s[j] == "\\" else 1
            if j >= len(s):
                raise CommandParseError(f"unterminated $'...' quote at offset {i}")
            val.append(_ANSI.sub(_ansi, s[i + 2:j]))
            self.i, w.quoted = j + 1, True
            return
        elif (arith := self._arith_end(i + 1)) is not None:
            end = arith
        elif nxt == "(":
            end = self._subst(w, i + 2)
        elif nxt == "{":
            end = self._braces(w, i + 2)
        elif m := _PARAM.match(s, i + 1):
            end = m.end()
        else:
            end = i + 1
        val.append(s[i:end])
        self.i = end

    def _subst(self, w: _Word, pos: int) -> int:
        """Parse the command list of `$(`, `<(` or `>(` starting at pos; return the end offset."""
        p = _Parser(self.s, pos, nested=True)
        w.nested += p.parse()
        self.i = p.end
        return p.end

    def _braces(self, w: _Word, pos: int) -> int:
        # ${x:-$(cmd)} may run commands, so walk it rather than skip to the first `}`.
        self.i, depth, scratch = pos, 1, []
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in "$`":
                self._dollar(w, scratch, in_dq=True)
                continue
            if c == '"':
                self._dquote(w, scratch)
                continue
            depth += {"{": 1, "}": -1}.get(c, 0)
            self.i += 2 if c == "\\" else 1
            if depth == 0:
                return self.i
        raise CommandParseError(f"unterminated ${{...}} at offset {pos - 2}")

    def _arith_end(self, pos: int) -> int | None:
        """End of `(( ... ))` at pos; None when it is really `( (cmd) ...)`, as bash decides."""
        if not self.s.startswith("((", pos):
            return None
        inner = self._balanced(pos + 1)
        return inner + 1 if self.s.startswith(")", inner) else None

    def _balanced(self, pos: int) -> int:
        """End offset of the parenthesised text at pos (arithmetic, array literals)."""
        depth, j, s = 0, pos, self.s
        while j < len(s):
            c = s[j]
            if c in "'\"":
                k = s.find(c, j + 1)
                j = len(s) if k < 0 else k
            depth += {"(": 1, ")": -1}.get(c, 0)
            j += 2 if c == "\\" else 1
            if depth == 0:
                return j
        raise CommandParseError(f"unbalanced parentheses at offset {pos}")


# --------------------------------------------------------------------------- parser

_SKIP_KEYWORDS = {"if", "then", "else", "elif", "fi", "while", "until", "do", "done", "esac", "in",
                  "!", "{", "}", "coproc"}
_CASE_END = frozenset({";;", ";&", ";;&"})
_Record = tuple[list[_Tok], bool]  # tokens of a simple command; False: data words only


class _Parser:
    """Recursive descent over the lexer; `nested` parsers stop at the `)` closing `$(`/`<(`."""

    def __init__(self, src: str, pos: int = 0, *, nested: bool = False) -> None:
        self.lx, self.nested, self.end = _Lexer(src, pos), nested, len(src)
        self.records: list[_Record] = []

    def parse(self) -> list[_Inv]:
        try:
            self._sequence(frozenset({")"}) if self.nested else frozenset(), frozenset())
            if self.nested:
                close = self.lx.next()
                if close is None:
                    raise CommandParseError("unterminated $( ... ) or <( ... )")
                self.end = close.end
            # Analysis waits until here so here-doc bodies (read at the newline) are known.
            return self._analyse(partial=False)
        except CommandParseError as e:
            e.invocations = self._analyse(partial=True) + e.invocations
            raise

    def _analyse(self, *, partial: bool) -> list[_Inv]:
        out: list[_Inv] = []
        for toks, is_cmd in self.records:
            try:
                out += _analyse_record(toks, is_cmd)
            except CommandParseError:
                if not partial:
                    raise
        return out

    def _sequence(self, stop_ops: frozenset[str], stop_words: frozenset[str]) -> None:
        while (t := self.lx.peek()) is not None:
            if t.kind == "op":
                if t.text in stop_ops:
                    return
                self.lx.next()
                if t.text == "(":
                    self._sequence(frozenset({")"}), frozenset())
                    self._expect(")")
                elif t.text == ")" or t.text in _CASE_END:
                    raise CommandParseError(f"unexpected `{t.text}`")
            elif t.kind == "arith":
                self.lx.next()
            elif t.kind == "word" and not t.word.quoted and t.word.value in stop_words:
                return
            else:
                self._simple()
        if stop_ops:
            raise CommandParseError(f"missing `{'` or `'.join(sorted(stop_ops | stop_words))}`")

    def _expect(self, op: str) -> None:
        t = self.lx.next()
        if t is None or t.kind != "op" or t.text != op:
            raise CommandParseError(f"expected `{op}`")

    def _data(self, *kinds: str, until_word: str | None = None, one: bool = False) -> None:
        """Consume non-command tokens (for-lists, case patterns, [[ ]]) keeping their $( )."""
        toks: list[_Tok] = []
        self.records.append((toks, False))
        while (t := self.lx.peek()) is not None and t.kind in kinds:
            self.lx.next()
            toks.append(t)
            if one or (until_word is not None and t.kind == "word" and t.word.raw == until_word):
                return
        if until_word is not None:
            raise CommandParseError(f"missing `{until_word}`")

    def _simple(self) -> None:
        toks: list[_Tok] = []
        self.records.append((toks, True))  # registered early so a parse error still reports it
        words = 0
        while (t := self.lx.peek()) is not None and t.kind in ("word", "redir"):
            self.lx.next()
            if t.kind == "redir":
                target = self.lx.next()
                if target is None or target.kind != "word":
                    raise CommandParseError(f"missing file name after `{t.text}`")
                toks += [t, target]
                continue
            kw = t.word.value if not t.word.quoted and words == 0 else ""
            if kw in _SKIP_KEYWORDS:
                continue
            if kw in ("for", "select"):
                if (n := self.lx.peek()) is not None and n.kind == "arith":
                    self.lx.next()
                else:
                    self._data("word", one=True)  # the loop variable
                if (n := self.lx.peek()) is not None and n.kind == "word" and n.word.raw == "in":
                    self._data("word")
                return
            if kw == "case":
                return self._case()
            if kw == "[[":
                return self._data("word", "op", "redir", until_word="]]")
            if kw == "function":
                self._data("word", one=True)
                self._funcparens()
                return
            toks.append(t)
            if not _ASSIGN.match(t.word.raw) or words:
                words += 1
        if words == 1 and self._funcparens():  # name() { ...; } defines, does not run
            self.records[-1] = (toks, False)

    def _funcparens(self) -> bool:
        a, b = self.lx.peek(), self.lx.peek(1)
        if a is None or a.kind != "op" or a.text != "(":
            return False
        if b is None or b.kind != "op" or b.text != ")":
            raise CommandParseError("unexpected `(`")
        self.lx.next(), self.lx.next()
        return True

    def _case(self) -> None:
        self._data("word", one=True)  # the subject
        while (t := self.lx.peek()) is not None and t.kind == "op" and t.text == "\n":
            self.lx.next()
        t = self.lx.next()
        if t is None or t.kind != "word" or t.word.raw != "in":
            raise CommandParseError("expected `in` after `case WORD`")
        while True:
            t = self.lx.peek()
            if t is None:
                raise CommandParseError("missing `esac`")
            if t.kind == "word" and t.word.raw == "esac":
                self.lx.next()
                return
            if t.kind == "op" and t.text in ("\n", ";"):
                self.lx.next()
                continue
            if t.kind == "op" and t.text == "(":
                self.lx.next()
            self._data("word")  # pattern words, joined by `|`
            while (t := self.lx.peek()) is not None and t.kind == "op" and t.text == "|":
                self.lx.next()
                self._data("word")
            self._expect(")")
            self._sequence(_CASE_END, frozenset({"esac"}))
            if (t := self.lx.peek()) is not None and t.kind == "op" and t.text in _CASE_END:
                self.lx.next()


# --------------------------------------------------------------------------- analysis

@dataclass(frozen=True)
class _Wrap:
    """A program that runs the next word as a command (`timeout 5 rm x` runs `rm`)."""

    opts_arg: str = ""  # short options taking a value
    long_arg: frozenset[str] = frozenset()  # long options taking a separate value
    positional: int = 0  # operands before the command (timeout's duration)
    counts: bool = False  # the wrapper is itself a command word (sudo can be prohibited)
    assigns: bool = False  # skips NAME=value operands


_WRAPPERS: dict[str, _Wrap] = {
    "env": _Wrap("uCS", frozenset({"--unset", "--chdir", "--split-string"}), assigns=True),
    "command": _Wrap(), "builtin": _Wrap(), "exec": _Wrap("a"), "nohup": _Wrap(), "setsid": _Wrap(),
    "time": _Wrap("fo", frozenset({"--format", "--output"})),
    "nice": _Wrap("n", frozenset({"--adjustment"})),
    "timeout": _Wrap("sk", frozenset({"--signal", "--kill-after"}), positional=1),
    "stdbuf": _Wrap("ioe", frozenset({"--input", "--output", "--error"})),
    "xargs": _Wrap("adEILnPs", frozenset({"--arg-file", "--delimiter", "--max-lines", "--max-args",
                                         "--max-procs", "--max-chars", "--process-slot-var"})),
    "sudo": _Wrap("ugCDhprtTU", frozenset({"--user", "--group", "--chdir", "--prompt", "--role",
                                           "--type", "--host", "--close-from", "--other-user"}),
                  counts=True, assigns=True),
    "doas": _Wrap("uC", counts=True),
    "busybox": _Wrap(counts=True),
}
_SHELLS = {"sh", "bash", "dash", "zsh", "ksh", "ash", "mksh"}
_FIND_EXEC = {"-exec", "-execdir", "-ok", "-okdir"}


def _basename(word: str) -> str:
    return posixpath.basename(word) if "/" in word.rstrip("/") else word


def _analyse_record(toks: list[_Tok], is_cmd: bool) -> list[_Inv]:
    if not is_cmd:
        return [n for t in toks for n in t.word.nested]
    before: list[_Inv] = []  # commands in assignments/redirections ahead of the command word
    after: list[_Inv] = []
    argv: list[_Word] = []
    stdin: list[str] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.kind == "redir":
            target = toks[i + 1].word
            if t.text in ("<<", "<<-") and target.heredoc is not None:
                stdin.append("\n".join(target.heredoc))
            elif t.text == "<<<":
                stdin.append(target.value)
            (after if argv else before).extend(target.nested)
            i += 2
            continue
        if argv or not _ASSIGN.match(t.word.raw):
            argv.append(t.word)
        else:
            before += t.word.nested
        i += 1
    inner = _argv_invs([w.value for w in argv], tuple(stdin))
    return before + inner + [n for w in argv for n in w.nested] + after


def _skip_opts(spec: _Wrap, args: list[str]) -> int:
    i = 0
    while i < len(args):
        a = args[i]
        if spec.assigns and _ASSIGN.match(a):
            i += 1
        elif a == "--":
            i += 1
            break
        elif a.startswith("--"):
            i += 2 if a in spec.long_arg else 1
        elif a.startswith("-") and len(a) > 1:
            i += 1
            for k, ch in enumerate(a[1:]):
                if ch in spec.opts_arg:
                    i += k == len(a) - 2  # value is the next word unless attached (-n5)
                    break
        else:
            break
    return i + spec.positional


def _argv_invs(argv: list[str], stdin: tuple[str, ...]) -> list[_Inv]:
    if not argv:
        return []
    name, rest = _basename(argv[0]) or argv[0] or "''", argv[1:]
    inv = _Inv(name, tuple(rest), stdin)
    if name == "eval":  # eval joins its arguments and runs them as a command line
        return _Parser(" ".join(rest)).parse()
    if name == "command" and rest[:1] in (["-v"], ["-V"]):
        return []  # only looks the name up
    if name == "env" and (split := _env_split(rest)) is not None:
        return _Parser(split).parse()
    if (spec := _WRAPPERS.get(name)) is not None:
        tail = rest[_skip_opts(spec, rest):]
        if not tail:
            return [] if name in ("exec", "time", "command", "builtin") else [inv]
        return ([inv] if spec.counts else []) + _argv_invs(tail, stdin)
    if name in _SHELLS:
        i, has_c = 0, False
        while i < len(rest) and rest[i][:1] in ("-", "+") and rest[i] != "--":
            has_c |= rest[i][0] == "-" and not rest[i].startswith("--") and "c" in rest[i]
            i += 2 if rest[i] in ("-o", "+o", "-O", "+O") else 1
        i += rest[i:i + 1] == ["--"]
        if has_c:
            return [inv] + (_Parser(rest[i]).parse() if i < len(rest) else [])
        if i < len(rest):
            return [inv]  # runs a script file we cannot see
        return [inv] + [x for text in stdin for x in _Parser(text).parse()]
    if name == "find":
        out, i = [inv], 0
        while i < len(rest):
            if rest[i] in _FIND_EXEC:
                j = i + 1
                while j < len(rest) and rest[j] not in (";", "+"):
                    j += 1
                out += _argv_invs(rest[i + 1:j], ())
                i = j
            i += 1
        return out
    return [inv]


def _env_split(args: list[str]) -> str | None:
    for k, a in enumerate(args):
        if a.startswith("--split-string="):
            return a.split("=", 1)[1]
        if a in ("-S", "--split-string") and k + 1 < len(args):
            return args[k + 1]
        if not a.startswith("-") and not _ASSIGN.match(a):
            return None
    return None


def _invocations(command: str) -> list[_Inv]:
    try:
        return _Parser(command).parse()
    except RecursionError:
        raise CommandParseError("the command nests too deeply to check") from None


def command_words(command: str) -> list[str]:
    """Command word of every simple command in `command`, in textual order.

    A command's word comes before the commands substituted into its arguments
    (`echo $(rm x)` -> echo, rm). Wrappers (env, command, builtin, exec, nohup, setsid, time,
    nice, timeout, stdbuf, xargs, eval) are replaced by the command they run; sudo, doas,
    busybox, find and shells count themselves too. `bash -c STR`, `eval STR`, `env -S STR`
    and a shell fed a here-doc/here-string are parsed recursively; `bash script.sh` is not.
    Here-doc bodies are data. Raises CommandParseError (with `.words` = what parsed before
    the problem) for input bash would reject, e.g. unbalanced quotes or parentheses.
    """
    return [i.word for i in _invocations(command)]


# --------------------------------------------------------------------------- policy checks

# Shell plumbing that cannot do harm by itself, so an allowlist need not name it.
ALWAYS_ALLOWED = frozenset({"cd", "echo", "printf", "true", "false", "test", "[", "export", "set",
                            "pwd", "exit", "read", ":"})


def _entry_matches(entry: str, inv: _Inv) -> bool:
    # "git push" matches `git` invocations whose arguments include `push`.
    head, *rest = entry.split()
    return _basename(head) == inv.word and all(r in inv.args for r in rest)


def _parse_for_check(command: str) -> tuple[list[_Inv], CommandParseError | None]:
    try:
        return _invocations(command), None
    except CommandParseError as e:
        return e.invocations, e


def check_command(command: str, *, allowed: list[str], prohibited: list[str]) -> list[PolicyFinding]:
    """Findings for the command words of `command` against a task's lists (empty: no findings).

    Entries name command words; an entry with spaces (`git push`) also requires those arguments.
    A line that does not parse gets one `disallowed_command` finding, plus findings for the
    words that did parse before the problem.
    """
    invs, error = _parse_for_check(command)
    found: dict[tuple[str, str], PolicyFinding] = {}
    if error is not None:
        found[("parse", "")] = PolicyFinding(
            type="disallowed_command", word=None,
            detail=f"The command could not be parsed as a shell command line ({error}), "
                   "so it cannot be checked against this task's command policy.")
    allow = [e for e in allowed if e.strip()]
    for inv in invs:
        if (hit := next((e for e in prohibited if e.strip() and _entry_matches(e, inv)), None)):
            found.setdefault(("prohibited", hit), PolicyFinding(
                type="prohibited_command", word=inv.word,
                detail=f"`{hit.strip()}` is prohibited by this task's command policy."))
        elif allow and inv.word not in ALWAYS_ALLOWED and not any(_entry_matches(e, inv) for e in allow):
            found.setdefault(("disallowed", inv.word), PolicyFinding(
                type="disallowed_command", word=inv.word,
                detail=f"`{inv.word}` is not among this task's allowed commands "
                       f"({', '.join(allow)})."))
    return list(found.values())


# --------------------------------------------------------------------------- risky commands

_L, _R = r"(?:^|(?<=[\s'\"=:/<>(`~]))", r"(?=$|[\s'\"/;|&)<>`])"
_SECRET_TEXT = [
    (re.compile(rf"{_L}\.env(?:rc)?(?:\.(?!(?:example|sample|template|dist|defaults?)\b)[\w.-]+)?{_R}"),
     "a .env file"),
    (re.compile(rf"{_L}\.ssh{_R}"), "the ~/.ssh directory"),
    (re.compile(r"\bid_(?:rsa|dsa|ecdsa|ed25519)\b(?!\.pub)"), "an SSH private key"),
    (re.compile(rf"{_L}\.(?:netrc|git-credentials|pgpass|pypirc){_R}"), "a credentials file"),
    (re.compile(r"\.aws/credentials\b"), "AWS credentials"),
    (re.compile(r"/etc/g?shadow\b"), "the password database /etc/shadow"),
    (re.compile(r"/proc/[^\s/]+/environ\b"), "a process environment in /proc"),
]
_SECRET_NAME = re.compile(r"(?:^|_)(?:API_?KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?)$")
_VAR = re.compile(r"\$\{?([A-Za-z_]\w*)")
_NET_WORDS = {"curl", "wget", "nc", "ncat", "netcat", "ssh", "scp", "sftp", "telnet", "ftp", "socat"}
_PYTHON = re.compile(r"(?:python|pypy)[\d.]*")
_PY_NET = re.compile(r"\b(?:socket|urllib\d?|http\.client|requests|httpx|aiohttp)\b")
# os.environ used other than to look up one literal name, i.e. the whole environment.
_PY_ENV_DUMP = re.compile(r"os\.environ\b(?!\s*(?:\[|\.get\s*\()\s*['\"])")
_PY_ENV_SECRET = re.compile(r"['\"][A-Za-z_]*(?:KEY|TOKEN|SECRET|PASSWORD)['\"]", re.I)


def _python_code(inv: _Inv) -> str | None:
    for k, a in enumerate(inv.args):
        if a.startswith("-") and not a.startswith("--") and "c" in a[1:]:
            return inv.args[k + 1] if k + 1 < len(inv.args) else None
        if not a.startswith("-"):
            break
    if not inv.args or inv.args[0] == "-":  # program on stdin (here-doc)
        return "\n".join(inv.stdin) or None
    return None


def _env_dump(inv: _Inv) -> str | None:
    """Why this invocation prints (part of) the environment, or None."""
    w, args = inv.word, inv.args
    if w == "env":  # only reported when no command follows, i.e. it prints the environment
        return "`env` prints the environment"
    if w == "printenv" and (not args or any(_SECRET_NAME.search(a.upper()) for a in args)):
        return "`printenv` prints environment variables"
    if w == "set" and not args:
        return "`set` with no arguments prints every shell variable"
    if w == "export" and all(a == "-p" for a in args):
        return "`export -p` prints the exported environment"
    if w in ("declare", "typeset") and all(a.startswith("-") for a in args) and (
            not args or any(c in a for a in args for c in "xp")):
        return f"`{' '.join((w, *args))}` prints shell variables"
    return None


def _is_remote_rsync(args: tuple[str, ...]) -> bool:
    return any("::" in a or a.startswith("rsync://") or re.match(r"[\w.@-]+:", a) for a in args
               if not a.startswith("-"))


def detect_risky(command: str) -> list[PolicyFinding]:
    """Record secret reads and network attempts (text level; the sandbox contains them anyway).

    Deliberately not flagged: words in arguments (`grep -r token src/`), example env files
    (`.env.example`, `.envrc.example`), `printenv HOME`, and `os.environ.get("HOME")`.
    """
    invs, _ = _parse_for_check(command)
    found: dict[str, PolicyFinding] = {}

    def add(kind: SafetyEventType, detail: str, word: str | None = None) -> None:
        found.setdefault(detail, PolicyFinding(type=kind, detail=detail, word=word))

    for inv in invs:
        if (why := _env_dump(inv)) is not None:
            add("secret_access", f"{why}, which may expose credentials.", inv.word)
        if inv.word in _NET_WORDS or (inv.word == "rsync" and _is_remote_rsync(inv.args)):
            add("network_attempt", f"`{inv.word}` makes a network connection.", inv.word)
        if _PYTHON.fullmatch(inv.word) and (code := _python_code(inv)) is not None:
            if m := _PY_NET.search(code):
                add("network_attempt", f"The Python code uses `{m.group(0)}` to reach the network.",
                    inv.word)
            if _PY_ENV_DUMP.search(code) or (
                    re.search(r"environ|getenv", code) and _PY_ENV_SECRET.search(code)):
                add("secret_access", "The Python code reads the environment, which may expose "
                                     "credentials.", inv.word)
    for pattern, what in _SECRET_TEXT:
        if m := pattern.search(command):
            add("secret_access", f"The command touches {what} (`{m.group(0)}`), which may hold "
                                 "credentials.")
    for m in _VAR.finditer(command):
        if _SECRET_NAME.search(m.group(1).upper()):
            add("secret_access", f"The command expands `${m.group(1)}`, which looks like a "
                                 "credential.")
    if m := re.search(r"/dev/(?:tcp|udp)/", command):
        add("network_attempt", f"The command opens a socket through `{m.group(0)}`.")
    return list(found.values())


# --------------------------------------------------------------------------- file tools

def _under(path: str, root: str) -> bool:
    return root == "/" or path == root or path.startswith(root + "/")


def check_write_path(path: str, *, work_root: str, tmp_root: str,
                     write_paths_allowed: list[str]) -> PolicyFinding | None:
    """Check a write by a file tool. `path` must be absolute with symlinks already resolved.

    Prefixes are directories (so `eval_artifacts/` does not cover `eval_artifacts_evil/`),
    relative to `work_root` unless absolute; `/tmp/...` means `tmp_root`. A path outside both
    roots is a `path_escape` whatever the list says: the file tools never write there.
    """
    if not posixpath.isabs(path):
        raise ValueError(f"check_write_path needs an absolute, resolved path, got {path!r}")
    p, work, tmp = (posixpath.normpath(x) for x in (path, work_root, tmp_root))
    if not (_under(p, work) or _under(p, tmp)):
        return PolicyFinding(type="path_escape", word=None,
                             detail=f"`{path}` is outside the working copy and {tmp}; "
                                    "the file tools cannot write there.")
    roots = []
    for entry in (e.strip() for e in write_paths_allowed):
        if entry == "/tmp" or entry.startswith("/tmp/"):
            roots.append(posixpath.normpath(tmp + entry[4:]))
        elif entry:
            roots.append(posixpath.normpath(posixpath.join(work, entry)))
    if any(_under(p, r) for r in roots):
        return None
    shown = posixpath.relpath(p, work) if _under(p, work) else p
    allowed = ", ".join(e for e in write_paths_allowed if e.strip()) or "nowhere"
    return PolicyFinding(type="write_outside_allowed", word=None,
                         detail=f"Writing `{shown}` is not allowed; this task allows writes only "
                                f"under: {allowed}.")
