"""A scripted OpenAI-compatible HTTP server on 127.0.0.1, for tests and the benchmark.

It answers POST /v1/chat/completions and POST /v1/responses (scripted_responses.py holds
that shape and its reasoning-item check), and refuses images where the real APIs would
(scripted_images.py). A `Script` maps each request to a `Reply`: a normal completion, an HTTP
error (with Retry-After), a slow answer, a connection dropped mid-body, or garbage. The
real SDK, HTTP and JSON paths run against it.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from pydantic import BaseModel, Field

from evaluator.testing.scripted_images import chat_image_problem, responses_image_problem
from evaluator.testing.scripted_responses import ReasoningLedger, response_body


class Reply(BaseModel):
    status: int = 200
    body: Any = None  # dict -> JSON; str -> sent raw
    headers: dict[str, str] = Field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False  # send headers and half a body, then close


Script = Callable[[dict[str, Any], int], Reply]


def tool_call(name: str, args: dict[str, Any] | str, call_id: str) -> dict[str, Any]:
    arguments = args if isinstance(args, str) else json.dumps(args)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def completion(content: str | None = None, tool_calls: list[dict[str, Any]] | None = None, *, model: str = "scripted",
               reasoning: str | None = None, prompt_tokens: int = 10, completion_tokens: int = 5) -> Reply:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    return Reply(body={
        "id": "chatcmpl-scripted", "object": "chat.completion", "created": 0, "model": model,
        "system_fingerprint": "fp_scripted",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    })


def error(status: int, message: str, *, code: str | None = None, retry_after: float | None = None) -> Reply:
    headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
    return Reply(status=status, body={"error": {"message": message, "type": "error", "code": code}}, headers=headers)


def _is_preflight(body: dict[str, Any]) -> bool:
    """The harness's preflight: no tools and a lone user message (a text-format task has a system prompt)."""
    messages = body.get("messages", body.get("input"))
    return "tools" not in body and isinstance(messages, list) and len(messages) == 1


class ScriptedServer:
    """`with ScriptedServer(script) as srv: srv.base_url` — requests are recorded in `srv.requests`."""

    def __init__(self, script: Script, *, answer_preflight: bool = True) -> None:
        self.script = script
        self.answer_preflight = answer_preflight  # the harness's one-message test request gets "OK", bypassing the script
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []  # the URL path of each request in `requests`
        self.headers: list[dict[str, str]] = []  # and its HTTP headers, names lowercased
        self.reasoning = ReasoningLedger()  # Responses API: reasoning items must come back
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body in one buffered write, and no Nagle: otherwise a reply can sit
            # ~40 ms waiting on the client's delayed ACK, which swamps a zero-latency benchmark.
            wbufsize = -1
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                self._send(Reply(body={"object": "list", "data": [{"id": "scripted", "object": "model"}]}))

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except ValueError:
                    body = {}
                responses = self.path.rstrip("/").endswith("/responses")
                if outer.answer_preflight and _is_preflight(body):
                    self._send(Reply(body=response_body("OK")) if responses else completion("OK"))
                    return
                with outer.lock:
                    index = len(outer.requests)
                    outer.requests.append(body)
                    outer.paths.append(self.path)
                    outer.headers.append({k.lower(): v for k, v in self.headers.items()})
                problem = (outer.reasoning.check(body) or responses_image_problem(body)) if responses else chat_image_problem(body)
                if problem:
                    self._send(error(400, problem, code="invalid_request_error"))
                    return
                try:
                    reply = outer.script(body, index)
                except Exception as exc:  # noqa: BLE001 - a broken script is a 500, visible to the test
                    reply = error(500, f"script failed: {exc!r}")
                if responses:
                    outer.reasoning.remember(reply.body)
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                data = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                raw = data.encode()
                self.send_response(reply.status)
                if "content-type" not in reply.headers:  # a script may send server-sent events
                    self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if reply.drop:
                    self.wfile.write(raw[: len(raw) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                self.wfile.write(raw)
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
