"""predict (agent/streaming_inference.py): running the agent over MATH and writing one line per problem."""
import copy
import json
import types

import pytest

import agent.streaming_inference as si


class Dataset:
    """The slice of a datasets.Dataset that predict uses: map with indices, select, columns, rows."""

    def __init__(self, rows):
        self.rows = rows

    def map(self, function, with_indices=False):
        assert with_indices is True
        return Dataset([function(copy.deepcopy(r), i) for i, r in enumerate(self.rows)])

    def select(self, indices):
        return Dataset([copy.deepcopy(self.rows[i]) for i in indices])

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(copy.deepcopy(self.rows))

    def __getitem__(self, column):
        return [r[column] for r in self.rows]


class Agent:
    def __init__(self, replies):
        self.replies = replies
        self.batches = []
        self.resets = 0
        manager = types.SimpleNamespace(reset=self._reset)
        self._interpreter_executor = types.SimpleNamespace(actions={"IPythonInteractiveManager": manager})

    def _reset(self):
        self.resets += 1

    def batch_chat(self, queries):
        self.batches.append(list(queries))
        out = []
        for q in queries:
            reply = self.replies[q]
            if isinstance(reply, Exception):
                raise reply
            out.append(types.SimpleNamespace(inner_steps=reply))
        return out


def _steps(answer, role="language"):
    return [{"role": "tool", "content": "print(1)"}, {"role": role, "content": answer}]


PROBLEMS = [
    {"problem": "p0", "solution": r"So it is $\boxed{\dfrac{1}{2}}$."},
    {"problem": "p1", "solution": "The area is \\boxed{90\\text{ square\nunits}}."},
    {"problem": "p2", "solution": "Clearly $6$ is our answer, not 5."},
    {"problem": "p3", "solution": r"Thus $\boxed{x \in [1, 2]}$"},
    {"problem": "p4", "solution": r"\boxed{10\%}"},
]


@pytest.fixture
def run(monkeypatch, tmp_path):
    made = {}

    def go(replies, batch_size=2, problems=PROBLEMS):
        agent = Agent(replies)

        def init_agent(**kwargs):
            made.update(kwargs)
            return agent

        monkeypatch.setattr(si, "load_dataset", lambda path, split: Dataset(problems))
        monkeypatch.setattr(si, "init_agent", init_agent)
        args = types.SimpleNamespace(backend="hf", max_turn=3, model_path="m", tp=2, temperature=0.1,
                                     stop_words=["<stop>"], top_p=0.8, top_k=40, max_new_tokens=16,
                                     batch_size=batch_size, output_path=str(tmp_path / "out.jsonl"))
        si.predict(args)
        lines = (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
        return agent, made, [json.loads(x) for x in lines]

    return go


def _all_good():
    return {f"p{i}": _steps(rf"The answer is \boxed{{{i}}}") for i in range(5)}


def test_predict_ground_truth(run):
    _, _, rows = run(_all_good())
    assert [r["gt"] for r in rows] == [r"\frac{1}{2}", "90", "6", "[1,2]", "10"]
    assert [(r["idx"], r["query"], r["problem"]) for r in rows] == [(i, f"p{i}", f"p{i}") for i in range(5)]


def test_predict_predictions_and_steps(run):
    replies = _all_good()
    replies["p3"] = _steps("still thinking", role="tool")
    _, _, rows = run(replies)
    assert [r["pred"] for r in rows] == [["0"], ["1"], ["2"], ["\U0001F62D"], ["4"]]
    assert rows[0]["steps"] == replies["p0"]
    assert all(r["error"] is None for r in rows)


def test_predict_batches(run):
    agent, _, rows = run(_all_good(), batch_size=2)
    assert agent.batches == [["p0", "p1"], ["p2", "p3"], ["p4"]]
    assert agent.resets == 3
    assert len(rows) == 5


def test_predict_one_batch(run):
    agent, _, _ = run(_all_good(), batch_size=5)
    assert agent.batches == [["p0", "p1", "p2", "p3", "p4"]]
    agent, _, _ = run(_all_good(), batch_size=100)
    assert agent.batches == [["p0", "p1", "p2", "p3", "p4"]]


def test_predict_failed_batch_is_recorded(run):
    replies = _all_good()
    replies["p2"] = RuntimeError("engine died")
    agent, _, rows = run(replies, batch_size=2)
    assert len(rows) == 5 and agent.resets == 3
    failed = [r for r in rows if r["error"]]
    assert [r["idx"] for r in failed] == [2, 3]
    assert "engine died" in failed[0]["error"] and "Traceback" in failed[0]["error"]
    assert failed[0]["pred"] == [] and failed[0]["steps"] == []
    assert [r["pred"] for r in rows if not r["error"]] == [["0"], ["1"], ["4"]]


def test_predict_agent_settings(run):
    _, made, _ = run(_all_good())
    assert made == {"backend": "hf", "max_turn": 3, "model_path": "m", "tp": 2, "temperature": 0.1,
                    "stop_words": ["<stop>"], "top_p": 0.8, "top_k": 40, "max_new_tokens": 16}
