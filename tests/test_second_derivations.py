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


def test_a_derivation_registered_under_the_dotted_path_of_a_named_oracle_is_found(tmp_path, monkeypatch) -> None:
    # docs/03: a user's @fact_oracle registers under its function name, the task names it
    # `package.module:function`, and the user registers the derivation under that dotted path
    (tmp_path / "user_facts_sd.py").write_text(
        "from evaluator.scoring.oracle_registry import fact_oracle, second_derivation\n"
        "@fact_oracle()\ndef user_fact_sd(*, repo_root): return 1\n"
        "@second_derivation('user_facts_sd:user_fact_sd', method='a second way, by hand')\n"
        "def again(*, repo_root): return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        d = oracles.derivation_for(oracles.resolve("user_facts_sd:user_fact_sd"))
        assert d is not None and d.method == "a second way, by hand"
    finally:
        oracles.REGISTRY.pop("user_fact_sd", None)
        oracles.DERIVATIONS.pop("user_facts_sd:user_fact_sd", None)
