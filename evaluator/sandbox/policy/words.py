"""From a bash command line to its simple commands and their command words.

Recursive descent over `shell_lexer`; wrappers (env, xargs, timeout, `bash -c`, `find -exec`,
...) are unwrapped so the command they run is what the policy sees.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass

# One parser split over two modules; the underscore names are shared between them only.
from evaluator.sandbox.policy.lexer import ASSIGN, CommandParseError, Invocation, Lexer, Token, Word

# --------------------------------------------------------------------------- parser

_SKIP_KEYWORDS = {"if", "then", "else", "elif", "fi", "while", "until", "do", "done", "esac", "in",
                  "!", "{", "}", "coproc"}
_CASE_END = frozenset({";;", ";&", ";;&"})
_Record = tuple[list[Token], bool]  # tokens of a simple command; False: data words only


class Parser:
    """Recursive descent over the lexer; `nested` parsers stop at the `)` closing `$(`/`<(`."""

    def __init__(self, src: str, pos: int = 0, *, nested: bool = False) -> None:
        self.lx, self.nested, self.end = Lexer(src, pos, Parser), nested, len(src)
        self.records: list[_Record] = []

    def parse(self) -> list[Invocation]:
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

    def _analyse(self, *, partial: bool) -> list[Invocation]:
        out: list[Invocation] = []
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
        toks: list[Token] = []
        self.records.append((toks, False))
        while (t := self.lx.peek()) is not None and t.kind in kinds:
            self.lx.next()
            toks.append(t)
            if one or (until_word is not None and t.kind == "word" and t.word.raw == until_word):
                return
        if until_word is not None:
            raise CommandParseError(f"missing `{until_word}`")

    def _simple(self) -> None:
        toks: list[Token] = []
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
            if not ASSIGN.match(t.word.raw) or words:
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


def basename(word: str) -> str:
    return posixpath.basename(word) if "/" in word.rstrip("/") else word


def _analyse_record(toks: list[Token], is_cmd: bool) -> list[Invocation]:
    if not is_cmd:
        return [n for t in toks for n in t.word.nested]
    before: list[Invocation] = []  # commands in assignments/redirections ahead of the command word
    after: list[Invocation] = []
    argv: list[Word] = []
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
        if argv or not ASSIGN.match(t.word.raw):
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
        if spec.assigns and ASSIGN.match(a):
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


def _argv_invs(argv: list[str], stdin: tuple[str, ...]) -> list[Invocation]:
    if not argv:
        return []
    name, rest = basename(argv[0]) or argv[0] or "''", argv[1:]
    inv = Invocation(name, tuple(rest), stdin)
    if name == "eval":  # eval joins its arguments and runs them as a command line
        return Parser(" ".join(rest)).parse()
    if name == "command" and rest[:1] in (["-v"], ["-V"]):
        return []  # only looks the name up
    if name == "env" and (split := _env_split(rest)) is not None:
        return Parser(split).parse()
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
            return [inv] + (Parser(rest[i]).parse() if i < len(rest) else [])
        if i < len(rest):
            return [inv]  # runs a script file we cannot see
        return [inv] + [x for text in stdin for x in Parser(text).parse()]
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
        if not a.startswith("-") and not ASSIGN.match(a):
            return None
    return None


def invocations(command: str) -> list[Invocation]:
    try:
        return Parser(command).parse()
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
    return [i.word for i in invocations(command)]
