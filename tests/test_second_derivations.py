"""Every built-in oracle has a second derivation that shares no code with it (issue 16 item 2)."""
from __future__ import annotations

from evaluator.scoring import oracle_registry as oracles


def test_every_builtin_oracle_has_a_second_derivation() -> None:
    missing = sorted(name for name, o in oracles.registered().items() if oracles.derivation_for(o) is None)
    assert not missing, f"oracles without a second derivation: {missing}"


def test_every_second_derivation_names_its_method() -> None:
    for oracle in oracles.registered().values():
        d = oracles.derivation_for(oracle)
        if d is not None:
            assert len(d.method) >= 10, f"{oracle.name}: say how the second derivation gets its answer"
