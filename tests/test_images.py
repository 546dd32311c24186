"""Images for vision models: an image task answered by a scripted vision model that really
decodes the image it was sent (Chat Completions, Responses, text tool format), refused
cleanly for a text-only model; caps and downscaling; the image-task validation check."""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from conftest import load_results, only_run_dir, run_cli, sandbox_flag, turn
from evaluator.models.images import ImageCaps, ImageRefused, prepare
from evaluator.tasks.image_checks import answer_in_text
from evaluator.testing.scripted_responses import FunctionCall, response_body, responses_turn
from evaluator.testing.scripted_server import Reply, ScriptedServer, completion, error, tool_call
from oracles.images import image_grid_colors

FIGURE = "docs/figures/palette.webp"


def colors_of(url: str, tmp: Path) -> list[list[str]]:
    """What a vision model would see: the grid colours of the image in the data URL."""
    head, _, b64 = url.partition(",")
    assert head == "data:image/webp;base64", head
    (tmp / "seen.webp").write_bytes(base64.b64decode(b64))
    return image_grid_colors(repo_root=tmp, path="seen.webp", rows=2, cols=2)


def write_answer(colors: list[list[str]]) -> dict[str, Any]:
    return {"path": "eval_artifacts/answer.json", "content": json.dumps({"palette_colors": colors})}


def chat_vision(tmp: Path, problems: list[str]):  # noqa: ANN201
    """Chat Completions: the tool message says an image follows; the next user message has it."""
    def script(body: dict[str, Any], _: int) -> Reply:
        msgs = body["messages"]
        t = turn(msgs)
        if t == 0:
            return completion(tool_calls=[tool_call("read_file", {"path": FIGURE}, "c0")])
        if t == 1:
            text = json.dumps(msgs[-2:])
            if "not shown to this model" in text:
                return completion("I cannot see images, so I cannot answer.")
            tool, user = msgs[-2], msgs[-1]
            parts = user.get("content") if user.get("role") == "user" else None
            if not (tool.get("role") == "tool" and isinstance(tool.get("content"), str) and "image is attached" in tool["content"]
                    and isinstance(parts, list) and parts[-1].get("type") == "image_url"):
                problems.append(text[:500])
                return error(400, "Invalid image request shape")
            return completion(tool_calls=[tool_call("write_file", write_answer(colors_of(parts[-1]["image_url"]["url"], tmp)), "c1")])
        return completion("Done.")
    return script


def responses_vision(tmp: Path, problems: list[str]):  # noqa: ANN201
    """Responses: the image is an input_image part of the function_call_output itself."""
    def script(body: dict[str, Any], _: int) -> Reply:
        t = responses_turn(body)
        if t == 0:
            return Reply(body=response_body(None, [FunctionCall(name="read_file", arguments={"path": FIGURE}, call_id="r0")]))
        if t == 1:
            out = next(i for i in body["input"] if i.get("type") == "function_call_output")["output"]
            if not (isinstance(out, list) and [p["type"] for p in out] == ["input_text", "input_image"]):
                problems.append(json.dumps(out)[:500])
                return error(400, "Invalid function_call_output")
            args = write_answer(colors_of(out[1]["image_url"], tmp))
            return Reply(body=response_body(None, [FunctionCall(name="write_file", arguments=args, call_id="r1")]))
        return Reply(body=response_body("Done."))
    return script


def run_task(tmp_path: Path, srv: ScriptedServer, *flags: str) -> tuple[Path, dict[str, Any]]:
    proc = run_cli("evaluator.run", "--repos", "demo", "--tasks", "demo_task_018", "--model", "seer", "--base-url",
                   srv.base_url, "--cache-dir", str(tmp_path / "cache"), "--sandbox", sandbox_flag(), "--quiet", *flags,
                   cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    run = only_run_dir(tmp_path / "runs")
    return run, load_results(run, "demo")["demo_task_018"]


@pytest.mark.parametrize("flags", [["--vision"], ["--vision", "--api", "responses"]], ids=["chat", "responses"])
def test_vision_model_sees_the_image_and_answers(tmp_path: Path, flags: list[str]) -> None:
    problems: list[str] = []
    script = responses_vision if "responses" in flags else chat_vision
    with ScriptedServer(script(tmp_path, problems)) as srv:
        run, r = run_task(tmp_path, srv, *flags)
    assert not problems and r["success"], (problems, r["failure_reason"], r["error"])
    stored = list((run / "artifacts" / "images").iterdir())
    assert len(stored) == 1 and stored[0].suffix == ".webp"  # the image is an artifact, once
    transcript = (run / "transcripts" / "demo.jsonl").read_text()
    assert stored[0].stem in transcript and "base64" not in transcript  # its sha256, never the image
    assert "| `image` | 1 | 100.0% |" in (run / "results" / "REPORT.md").read_text()  # image tasks have their own row


def test_vision_through_text_tool_format(tmp_path: Path) -> None:
    problems: list[str] = []

    def script(body: dict[str, Any], i: int) -> Reply:
        msgs = body["messages"]
        t = turn(msgs)
        if t == 0:
            return completion(f"```tool\n{json.dumps({'tool': 'read_file', 'arguments': {'path': FIGURE}})}\n```")
        if t == 1:
            parts = msgs[-1]["content"]
            if not (isinstance(parts, list) and parts[0]["text"].startswith("[result of read_file]") and parts[-1]["type"] == "image_url"):
                problems.append(json.dumps(msgs[-1])[:300])
                return error(400, "Invalid image request shape")
            args = write_answer(colors_of(parts[-1]["image_url"]["url"], tmp_path))
            return completion(f"```tool\n{json.dumps({'tool': 'write_file', 'arguments': args})}\n```")
        return completion("Done.")

    with ScriptedServer(script) as srv:
        _, r = run_task(tmp_path, srv, "--vision", "--tool-format", "text")
    assert not problems and r["success"], (problems, r["failure_reason"])


def test_text_only_model_is_told_images_are_not_shown(tmp_path: Path) -> None:
    with ScriptedServer(chat_vision(tmp_path, [])) as srv:
        run, r = run_task(tmp_path, srv)
        bodies = json.dumps(srv.requests)
    assert not r["success"] and r["failure_reason"] == "missing_answer" and r["stop_reason"] == "completed"
    assert "data:image" not in bodies and "image_url" not in bodies
    lines = [json.loads(x)["message"] for x in (run / "transcripts" / "demo.jsonl").read_text().splitlines()]
    tool = next(m for m in lines if m["role"] == "tool")
    assert tool["content"].endswith("; images are not shown to this model.") and FIGURE in tool["content"]
    assert not (run / "artifacts" / "images").exists()


def png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 30)).save(out, format="PNG")
    return out.getvalue()


def test_large_images_are_downscaled_to_the_pixel_budget() -> None:
    prepared, sent = prepare(png((3000, 2000)), ImageCaps(pixel_budget=600_000))
    assert prepared.downscaled and (prepared.width, prepared.height) == (3000, 2000)
    assert prepared.sent_width * prepared.sent_height <= 600_000 and prepared.sent_width / prepared.sent_height == pytest.approx(1.5, rel=0.01)
    assert Image.open(io.BytesIO(sent)).size == (prepared.sent_width, prepared.sent_height)
    small, same = prepare(png((40, 30)), ImageCaps())
    assert not small.downscaled and same == png((40, 30)) and small.sha256 == small.source_sha256


@pytest.mark.parametrize("data, why", [
    (png((4000, 4000)), "more than the"),
    (png((40, 30))[:60], "cannot be decoded"),
    (b"GIF89a" + b"\xff" * 40, "cannot be decoded"),
    (b"hello", "not a PNG"),
])
def test_bad_or_huge_images_are_refused_with_a_reason(data: bytes, why: str) -> None:
    with pytest.raises(ImageRefused, match=why):
        prepare(data, ImageCaps(max_source_pixels=10_000_000))


def test_image_task_answer_must_not_be_in_a_text_file(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "colors.md").write_text("The palette is Orange and blue.\n")
    (tmp_path / "fig.png").write_bytes(png((4, 4)))
    assert answer_in_text(tmp_path, [["orange", "blue"], ["magenta", "green"]]) == ("orange", "docs/colors.md")
    assert answer_in_text(tmp_path, {"width": 733, "height": 419}) is None
    assert answer_in_text(tmp_path, 11) is None  # too short to search for


def test_generator_image_template_keeps_only_answers_in_pictures(tmp_path: Path) -> None:
    """Two figures; the README states the second one's size, so only the first survives validation."""
    import yaml

    from conftest import git

    src = tmp_path / "src"
    (src / "docs").mkdir(parents=True)
    (src / "README.md").write_text("# Figures\n\nThe banner is 640 x 360 pixels.\n")
    (src / "docs" / "chart.png").write_bytes(png((321, 123)))
    (src / "docs" / "banner.png").write_bytes(png((640, 360)))
    (src / "docs" / "notes.png").write_text("not an image, whatever the name says\n")
    git(src, "init", "-q", "-b", "main")
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "init")
    repos = tmp_path / "repos"
    repos.mkdir()
    (repos / "fig.yaml").write_text(yaml.safe_dump({"id": "fig", "url": str(src), "ref": git(src, "rev-parse", "HEAD")}))
    out = tmp_path / "out"
    proc = run_cli("evaluator.generate", "--repo", "fig", "--repos-config", str(repos), "--cache-dir", str(tmp_path / "cache"),
                   "--out", str(out), "--templates", "image_size", "--no-set-rules")  # one-pipeline only: no set rules
    assert proc.returncode == 0, proc.stderr + proc.stdout
    tasks = [yaml.safe_load(p.read_text()) for p in out.glob("fig_gen_*.yaml")]
    assert [t["outputs"][0]["oracle"]["args"]["path"] for t in tasks] == ["docs/chart.png"]
    assert tasks[0]["tags"] == ["generated", "image_size", "image"]
    report = json.loads((out / "_generation_report.json").read_text())
    assert report["answers"][tasks[0]["id"]]["answer"] == {"image_size": {"width": 321, "height": 123}}
    assert [(d["reason"], d["detail"]) for d in report["drops"]] == [
        ("validation failed", "`image_size`: image task, but the answer '640' is written in README.md")]


def test_scripted_server_refuses_images_where_the_apis_do() -> None:
    from evaluator.testing.scripted_images import chat_image_problem, responses_image_problem

    url = "data:image/png;base64," + base64.b64encode(png((2, 2))).decode()
    ok = {"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}, {"type": "image_url", "image_url": {"url": url}}]}]}
    assert chat_image_problem(ok) is None
    in_tool = {"messages": [{"role": "tool", "content": [{"type": "image_url", "image_url": {"url": url}}]}]}
    assert "images go in user messages" in (chat_image_problem(in_tool) or "")
    lying = {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url.replace("png", "jpeg", 1)}}]}]}
    assert "but the URL says image/jpeg" in (chat_image_problem(lying) or "")
    output = {"input": [{"type": "function_call_output", "call_id": "c", "output": [{"type": "input_image", "image_url": "http://x"}]}]}
    assert "not a data URL" in (responses_image_problem(output) or "")
