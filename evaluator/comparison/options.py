"""Runs reached their models in different ways (API, tool format, reasoning effort, extra body,
headers, vision): their scores are not like for like, so `compare` says so."""
from __future__ import annotations

import json

from evaluator.comparison.inputs import LoadedRun


def _show(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def option_warnings(baseline: LoadedRun, candidates: list[LoadedRun]) -> list[str]:
    """One warning per candidate whose model options differ from the baseline's."""
    out = []
    for c in candidates:
        diff = [f"{k} {_show(baseline.options.get(k))} vs {_show(c.options.get(k))}"
                for k in sorted(set(baseline.options) | set(c.options)) if baseline.options.get(k) != c.options.get(k)]
        if diff:
            out.append(f"{c.label} and {baseline.label} reached their models differently ({'; '.join(diff)}): "
                       f"score differences may come from that, not only from the model.")
    return out
