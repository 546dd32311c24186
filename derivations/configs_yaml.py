"""YAML read a second way for `derivations.configs`: libyaml's event stream, built into values here.

The oracles load YAML with PyYAML's pure-Python `SafeLoader` (its composer, resolver and
constructor) with booleans cut down to YAML 1.2's true/false. This reads the parser *events*
(`yaml.parse`, through libyaml's C parser when PyYAML has it) and does the rest itself: anchors and
aliases, `<<` merge keys, and the scalar types of the YAML 1.1 type repository
(https://yaml.org/type/: null, int incl. 0b/0o/0x/sexagesimal, float, timestamp) with the same
1.2 booleans, so yes/no/on/off stay strings. Timestamps come back as ISO strings.
"""
from __future__ import annotations

import datetime
import re
from typing import Any, Iterator

import yaml

from evaluator.scoring.oracle_api import OracleError

_PARSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML was built with it
_STD = "tag:yaml.org,2002:"
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_BOOL_11 = {**_BOOL, **dict.fromkeys("yes Yes YES on On ON y Y".split(), True),
            **dict.fromkeys("no No NO off Off OFF n N".split(), False)}  # only for an explicit !!bool
_NULL = {"", "~", "null", "Null", "NULL"}
_INT = re.compile(r"[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]+|0[0-7_]+|0|[1-9][0-9_]*(?::[0-5]?[0-9])*)")
_FLOAT = re.compile(r"[-+]?(?:[0-9][0-9_]*\.[0-9_]*|\.[0-9_]+)(?:[eE][-+][0-9]+)?"
                    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
_STAMP = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:(?:[Tt]|[ \t]+)(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d*))?(?:[ \t]*(Z|[-+]\d{1,2}(?::\d{2})?))?)?")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _int(text: str) -> int:
    t = text.replace("_", "")
    sign = -1 if t.startswith("-") else 1
    t = t.lstrip("+-")
    if ":" in t:  # sexagesimal: 1:30 is 90
        total = 0
        for part in t.split(":"):
            total = total * 60 + int(part)
        return sign * total
    if t.startswith("0b"):
        return sign * int(t[2:], 2)
    if t.startswith("0x"):
        return sign * int(t[2:], 16)
    if len(t) > 1 and t.startswith("0"):
        return sign * int(t[1:], 8)
    return sign * int(t)


def _float(text: str) -> float:
    t = text.replace("_", "").lower()
    if t.endswith(".inf"):
        return float("-inf") if t.startswith("-") else float("inf")
    return float("nan") if t.endswith(".nan") else float(t)


def _stamp(text: str) -> str | None:
    """ISO text of a YAML timestamp (`2001-12-14`, `2001-12-14 21:59:43.10 -5`), None if not one."""
    m = _STAMP.fullmatch(text)
    if not m or (m.group(4) is None and not _DATE_ONLY.fullmatch(text)):
        return None
    y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if m.group(4) is None:
        return datetime.date(y, mo, d).isoformat()
    micro = int((m.group(7) or "").ljust(6, "0")[:6] or 0)
    tz = None
    if m.group(8) == "Z":
        tz = datetime.timezone(datetime.timedelta(0))
    elif m.group(8):
        hours, _, minutes = m.group(8).partition(":")
        delta = datetime.timedelta(hours=abs(int(hours)), minutes=int(minutes or 0))
        tz = datetime.timezone(-delta if hours.startswith("-") else delta)
    moment = datetime.datetime(y, mo, d, int(m.group(4)), int(m.group(5)), int(m.group(6)), micro, tz)
    return moment.isoformat()


def plain_scalar(text: str) -> Any:
    """The value of an untagged plain scalar: null, 1.2 boolean, 1.1 int/float/timestamp, or str."""
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.fullmatch(text):
        return _int(text)
    if _FLOAT.fullmatch(text):
        return _float(text)
    stamp = _stamp(text) if text[:1].isdigit() else None
    return text if stamp is None else stamp


def _tagged(tag: str, text: str) -> Any:
    kind = tag[len(_STD):] if tag.startswith(_STD) else None
    if kind == "str":
        return text
    if kind == "null":
        return None
    if kind == "bool" and text in _BOOL_11:
        return _BOOL_11[text]
    if kind == "int" and _INT.fullmatch(text):
        return _int(text)
    if kind == "float" and (_FLOAT.fullmatch(text) or _INT.fullmatch(text)):
        return float(_int(text)) if _INT.fullmatch(text) else _float(text)
    if kind == "timestamp" and _stamp(text) is not None:
        return _stamp(text)
    raise OracleError(f"YAML scalar {text!r} with tag {tag!r} has no safe value")


def _plain(event: yaml.ScalarEvent) -> bool:
    return event.style in (None, "")  # libyaml reports a plain scalar's style as "", PyYAML as None


class _Builder:
    """Builds one document's value from the event iterator."""

    def __init__(self, events: Iterator[yaml.Event]) -> None:
        self.events = events
        self.anchors: dict[str, Any] = {}

    def value(self, event: yaml.Event) -> Any:
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in self.anchors:
                raise OracleError(f"YAML alias *{event.anchor} before its anchor")
            return self.anchors[event.anchor]
        if isinstance(event, yaml.ScalarEvent):
            if event.tag not in (None, "!"):
                out = _tagged(event.tag, event.value)
            else:
                out = plain_scalar(event.value) if _plain(event) and event.tag is None else event.value
        elif isinstance(event, yaml.SequenceStartEvent):
            out = []
            self._remember(event, out)
            while not isinstance(item := next(self.events), yaml.SequenceEndEvent):
                out.append(self.value(item))
            return out
        elif isinstance(event, yaml.MappingStartEvent):
            out = {}
            self._remember(event, out)
            self._fill(out)
            return out
        else:
            raise OracleError(f"unexpected YAML event {type(event).__name__}")
        self._remember(event, out)
        return out

    def _remember(self, event: yaml.NodeEvent, value: Any) -> None:
        if event.anchor:
            self.anchors[event.anchor] = value

    def _fill(self, out: dict[Any, Any]) -> None:
        merged: list[dict[Any, Any]] = []
        while True:
            key_event = next(self.events)
            if isinstance(key_event, yaml.MappingEndEvent):
                break
            is_merge = isinstance(key_event, yaml.ScalarEvent) and _plain(key_event) and key_event.value == "<<"
            key = self.value(key_event)
            value = self.value(next(self.events))
            if is_merge:
                sources = value if isinstance(value, list) else [value]
                if not all(isinstance(s, dict) for s in sources):
                    raise OracleError("YAML merge key << needs a mapping or a list of mappings")
                merged += sources
                continue
            if isinstance(key, (list, dict)):
                raise OracleError("YAML mapping with an unhashable (list or mapping) key")
            out[key] = value
        # Keys written in the mapping win over merged ones; among merged mappings the first wins.
        for source in merged:
            for k, v in source.items():
                if k not in out:
                    out[k] = v


def read_yaml(text: str, where: str) -> Any:
    """The single document of `text` (None for an empty stream); OracleError when it is not YAML."""
    try:
        events = iter(list(yaml.parse(text, Loader=_PARSER)))
        docs = []
        for event in events:
            if isinstance(event, yaml.DocumentStartEvent):
                docs.append(_Builder(events).value(next(events)))
                next(events)  # DocumentEndEvent
    except yaml.YAMLError as exc:
        raise OracleError(f"{where}: not valid YAML: {exc}") from exc
    if len(docs) > 1:
        raise OracleError(f"{where}: holds {len(docs)} YAML documents, expected one")
    return docs[0] if docs else None
