"""GenericRuntime, Timeout and PALInterface (agent/pal_inference.py): running generated programs."""
import signal
import time

import pytest

import agent.pal_inference as pal


def test_runtime_exec_then_eval():
    rt = pal.GenericRuntime()
    rt.exec_code("def solution():\n    return 6 * 7")
    assert rt.eval_code("solution()") == 42


def test_runtime_answer_property():
    rt = pal.GenericRuntime()
    rt.exec_code("answer = 3 + 4")
    assert rt.answer == 7


def test_runtime_answer_missing_raises():
    with pytest.raises(KeyError):
        pal.GenericRuntime().answer


def test_runtime_inject():
    rt = pal.GenericRuntime()
    rt.inject({"x": 5, "y": 6})
    assert rt.eval_code("x * y") == 30
    rt.inject({"x": 1})
    assert rt.eval_code("x + y") == 7


def test_runtime_state_persists_between_calls():
    rt = pal.GenericRuntime()
    rt.exec_code("total = 1")
    rt.exec_code("total += 9")
    assert rt.eval_code("total") == 10


def test_runtimes_are_independent():
    a, b = pal.GenericRuntime(), pal.GenericRuntime()
    a.exec_code("v = 1")
    with pytest.raises(NameError):
        b.eval_code("v")
    assert pal.GenericRuntime.GLOBAL_DICT == {}


def test_runtime_headers_and_globals():
    class Runtime(pal.GenericRuntime):
        GLOBAL_DICT = {"base": 10}
        HEADERS = ["import math", "scale = base * 2"]

    rt = Runtime()
    assert rt.eval_code("math.floor(2.7) + scale") == 22
    rt.exec_code("base = 0")
    assert Runtime.GLOBAL_DICT == {"base": 10}
    assert Runtime().eval_code("base") == 10


def test_runtime_local_dict_copied():
    local = {"k": 1}

    class Runtime(pal.GenericRuntime):
        LOCAL_DICT = local

    rt = Runtime()
    assert rt._local_vars == {"k": 1} and rt._local_vars is not local
    assert pal.GenericRuntime()._local_vars is None


def test_runtime_errors_propagate():
    rt = pal.GenericRuntime()
    with pytest.raises(ZeroDivisionError):
        rt.exec_code("1 / 0")
    with pytest.raises(SyntaxError):
        rt.eval_code("1 +")


def test_timeout_defaults():
    t = pal.Timeout()
    assert (t.seconds, t.error_message) == (1, "Timeout")
    t = pal.Timeout(3, error_message="too slow")
    assert (t.seconds, t.error_message) == (3, "too slow")


def test_timeout_handler_raises_with_message():
    with pytest.raises(TimeoutError, match="^too slow$"):
        pal.Timeout(1, "too slow").timeout_handler(signal.SIGALRM, None)


def test_timeout_arms_and_disarms_alarm():
    with pal.Timeout(5):
        remaining = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 0 < remaining <= 5
        assert signal.getsignal(signal.SIGALRM).__func__ is pal.Timeout.timeout_handler
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


def test_timeout_disarms_on_error():
    with pytest.raises(ValueError):
        with pal.Timeout(5):
            raise ValueError("boom")
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


def test_timeout_interrupts_long_code():
    with pytest.raises(TimeoutError, match="stop"):
        with pal.Timeout(1, "stop"):
            while True:
                time.sleep(0.05)


def _interface(**kwargs):
    return pal.PALInterface(model="model", tokenizer="tokenizer", generation_config=pal.GenerationConfig(),
                            **kwargs)


def test_interface_defaults():
    it = _interface()
    assert (it.model, it.tokenizer, it.history) == ("model", "tokenizer", [])
    assert (it.additional_eos_token_id, it.answer_expr, it.verbose) == (103028, "solution()", False)
    assert isinstance(it.runtime, pal.GenericRuntime)
    assert it.generation_config == pal.GenerationConfig(max_length=64, top_p=0.8, temperature=0.8,
                                                        do_sample=True, repetition_penalty=1.0)


def test_interface_options():
    it = _interface(additional_eos_token_id=7, get_answer_expr="answer", verbose=True)
    assert (it.additional_eos_token_id, it.answer_expr, it.verbose) == (7, "answer", True)


@pytest.mark.parametrize("generation, code", [
    ("```python\ndef solution():\n    return 1\n```\nmore", ["", "def solution():", "    return 1", ""]),
    ("text\n```\nx = 1\n```", ["", "x = 1", ""]),
    ("a = 1\nb = 2", ["a = 1", "b = 2"]),
    ("```python\nx=1", ["", "x=1"]),
    ("pre ```python\nA\n``` mid ```python\nB\n```", ["", "A", ""]),
    ("", [""]),
])
def test_process_generation_to_code(generation, code):
    assert _interface().process_generation_to_code(generation) == code


def test_execute_runs_code_and_answer_expr():
    it = _interface()
    assert it.execute(["def solution():", "    return 2 ** 10"]) == 1024
    it = _interface(get_answer_expr="result")
    assert it.execute(["result = 'ok'"]) == "ok"


def test_run_executes_generated_code():
    it = _interface()
    it.generate = lambda prompt: ["def solution():", f"    return len({prompt!r})"]
    assert it.run("abcd", time_out=5) == 4
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


def test_clear_history():
    it = _interface()
    it.history.extend(["a", "b"])
    it.clear_history()
    assert it.history == []


def test_run_default_time_limit(monkeypatch):
    limits = []

    class Timeout:
        def __init__(self, seconds):
            limits.append(seconds)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(pal, "Timeout", Timeout)
    it = _interface()
    it.generate = lambda prompt: ["def solution():", "    return 1"]
    assert it.run("p") == 1
    assert it.run("p", time_out=3) == 1
    assert limits == [100, 3]
