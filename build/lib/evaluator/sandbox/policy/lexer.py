"""Bash lexing for the command policy: a practical subset of bash's tokenizer (quotes,
escapes, $'...', expansions, redirections, here-docs), enough to find command words."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Literal


class CommandParseError(ValueError):
    """Bash would reject the line (or we cannot follow it); `words` holds what parsed before."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.invocations: list[Invocation] = []

    @property
    def words(self) -> list[str]:
        return [i.word for i in self.invocations]


# --------------------------------------------------------------------------- lexer

@dataclass(frozen=True)
class Invocation:
    """One program start: its command word, its arguments, and any here-doc/-string stdin."""

    word: str
    args: tuple[str, ...] = ()
    stdin: tuple[str, ...] = ()


@dataclass
class Word:
    raw: str = ""
    value: str = ""  # quotes removed; expansions kept as written
    quoted: bool = False
    nested: list[Invocation] = field(default_factory=list)  # from $( ), ` `, <( ) inside the word
    heredoc: list[str] | None = None  # body lines when this word is a here-doc delimiter


@dataclass
class Token:
    kind: Literal["word", "op", "redir", "arith"]
    text: str
    end: int
    word: Word = field(default_factory=Word)


_OPS = ("&>>", ";;&", "<<<", "<<-", "|&", "||", "&&", "&>", ";;", ";&", "<<", "<>", "<&", ">>",
        ">&", ">|", "|", "&", ";", "(", ")", "<", ">", "\n")
_REDIRS = {"&>>", "<<<", "<<-", "&>", "<<", "<>", "<&", ">>", ">&", ">|", "<", ">"}
_META = set(" \t\n|&;()<>")
ASSIGN = re.compile(r"[A-Za-z_]\w*(\[[^\]]*\])?\+?=")
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


class Lexer:
    """Tokens of one command line. `parser` parses the commands nested in `$(...)` and backticks:
    the parser passes itself in, so the two halves recurse without importing each other."""

    def __init__(self, src: str, pos: int, parser: Callable[..., Any]) -> None:
        self.s, self.i, self.parser = src, pos, parser
        self.buf: list[Token] = []
        self.pending: list[tuple[str, bool, list[str]]] = []  # here-docs read at the next newline
        self.want_delim: bool | None = None  # next word is a here-doc delimiter (value: strip tabs)

    def peek(self, k: int = 0) -> Token | None:
        while len(self.buf) <= k:
            tok = self._lex()
            if tok is None:
                return None
            self.buf.append(tok)
        return self.buf[k]

    def next(self) -> Token | None:
        tok = self.peek()
        if tok is not None:
            self.buf.pop(0)
        return tok

    def _lex(self) -> Token | None:
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
            return Token("arith", "((", end)
        for op in _OPS if s[self.i] in _META else ():
            if s.startswith(op, self.i):
                self.i += len(op)
                if op == "\n":
                    self._read_heredocs()
                elif op in ("<<", "<<-"):
                    self.want_delim = op == "<<-"
                return Token("redir" if op in _REDIRS else "op", op, self.i)
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

    def _word_tok(self) -> Token:
        w = self._read_word()
        if self.want_delim is not None:
            w.heredoc = []
            self.pending.append((w.value, self.want_delim, w.heredoc))
            self.want_delim = None
        return Token("word", w.raw, self.i, w)

    def _read_word(self) -> Word:
        s, start, w, val = self.s, self.i, Word(), []
        while self.i < len(s):
            c = s[self.i]
            if c in "<>" and self.i == start and s.startswith("(", self.i + 1):
                end = self._subst(w, self.i + 2)
                val.append(s[start:end])
            elif c in _META:
                if c == "(" and ASSIGN.fullmatch("".join(val)):  # arr=(a b c)
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

    def _dquote(self, w: Word, val: list[str]) -> None:
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

    def _dollar(self, w: Word, val: list[str], *, in_dq: bool) -> None:
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
            w.nested += self.parser(body).parse()
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

    def _subst(self, w: Word, pos: int) -> int:
        """Parse the command list of `$(`, `<(` or `>(` starting at pos; return the end offset."""
        p = self.parser(self.s, pos, nested=True)
        w.nested += p.parse()
        self.i = p.end
        return p.end

    def _braces(self, w: Word, pos: int) -> int:
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
