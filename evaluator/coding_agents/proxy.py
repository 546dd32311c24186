"""The model proxy: the only way an external agent reaches its model, and its transcript.

It listens on a Unix socket (bind-mounted into the sandbox, where a forwarder exposes it on
127.0.0.1), forwards each request to the real endpoint with the real key (the agent only ever
holds a placeholder), records every request and reply into the task's transcript, counts
turns, tokens, model time and the commands in tool calls, and answers with an error once a
budget is spent. Retries follow our own client's rules: 408/409/429/5xx, timeouts and dropped
connections are retried with Retry-After honoured, else equal-jitter exponential backoff.
"""
from __future__ import annotations

import asyncio
import json
import random
import time
from pathlib import Path
from typing import Any, Callable, Protocol

import httpx2 as httpx  # the HTTP client the openai SDK itself uses (locked through it)
from pydantic import BaseModel, Field

from evaluator.coding_agents.base import PLACEHOLDER_KEY
from evaluator.coding_agents.http1 import MAX_HEADER, Request, client_key, error_body, read_request, send, write
from evaluator.coding_agents.upstream import Upstream
from evaluator.coding_agents.wire import Exchange, StreamAssembler, history, parse_reply, wire_of

DRAIN_S = 10.0  # how long close() lets exchanges in flight finish being recorded
Record = Callable[[dict[str, Any], dict[str, Any] | None], None]


class CallObserver(Protocol):
    """Told about each command and file write seen in a reply's tool calls (for safety events)."""

    def command(self, tool: str, text: str) -> None: ...

    def write(self, tool: str, path: str) -> None: ...


class ProxyBudget(BaseModel):
    max_turns: int
    timeout_s: float
    token_budget: int | None = None
    max_commands: int | None = None


class ProxyStats(BaseModel):
    turns: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_time_s: float = 0.0
    wait_s: float = 0.0
    requests: int = 0
    other_keys: int = Field(0, description="Requests that came with a key other than the placeholder.")
    commands: list[tuple[str, str]] = Field(default_factory=list)
    response_models: list[str] = Field(default_factory=list)
    stop_reason: str | None = None
    error: str | None = None


class ModelProxy:
    def __init__(self, socket_path: Path, upstream: Upstream, budget: ProxyBudget, record: Record,
                 observer: CallObserver | None = None) -> None:
        self.socket_path, self.upstream, self.budget, self.record = socket_path, upstream, budget, record
        self.observer = observer
        self.stats = ProxyStats()
        self.spent = asyncio.Event()  # set when a budget ran out: the runner stops the agent
        self.t0 = time.monotonic()
        self._seen: dict[str, list[Any]] = {}  # conversation (wire + first message) -> its last history
        self.client_key = "none"  # which key the last request came with: placeholder, other, none
        self._server: asyncio.AbstractServer | None = None
        self._handlers: set[asyncio.Task[Any]] = set()
        self._client = httpx.AsyncClient(timeout=upstream.request_timeout_s)

    async def start(self) -> None:
        self._server = await asyncio.start_unix_server(self._serve, path=str(self.socket_path), limit=MAX_HEADER)
        self.socket_path.chmod(0o777)  # the sandbox's uid connects to it

    async def close(self) -> None:
        """Stop listening, and let the exchanges in flight be recorded and counted: an agent may
        exit as soon as it has read a reply, before the proxy has finished with it."""
        if self._server is not None:
            self._server.close()
        if self._handlers:
            _, late = await asyncio.wait(self._handlers, timeout=DRAIN_S)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self._client.aclose()

    def elapsed(self) -> float:
        return time.monotonic() - self.t0 - self.stats.wait_s

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
            task.add_done_callback(self._handlers.discard)
        try:
            while (req := await read_request(reader)) is not None:
                await self._handle(req, writer)
                if req.headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, httpx.HTTPError) as exc:
            # a malformed request, an agent that hung up, an endpoint that broke off mid-stream
            self.stats.error = self.stats.error or f"{type(exc).__name__}: {exc}"[:300]
        finally:
            writer.close()

    def _over_budget(self) -> str | None:
        s, b = self.stats, self.budget
        if s.turns >= b.max_turns:
            return "max_turns"
        if b.token_budget and s.prompt_tokens + s.completion_tokens >= b.token_budget:
            return "token_budget"
        if b.max_commands is not None and len(s.commands) > b.max_commands:
            return "max_commands"
        if self.elapsed() >= b.timeout_s:
            return "timeout"
        return None

    async def _handle(self, req: Request, writer: asyncio.StreamWriter) -> None:
        self.stats.requests += 1
        key = client_key(req.headers)
        self.client_key = "placeholder" if key == PLACEHOLDER_KEY else "none" if not key else "other"
        if self.client_key == "other":
            self.stats.other_keys += 1
        wire = wire_of(req.path.split("?", 1)[0]) if req.method == "POST" else None
        if wire is None:  # GET /models, count_tokens and the like: passed on, not a turn
            if self.stats.stop_reason is not None:
                await send(writer, 400, error_body(f"agentgym: the task's budget is spent ({self.stats.stop_reason})"))
                return
            await self._forward_plain(req, writer)
            return
        try:
            body = json.loads(req.body or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            await send(writer, 400, error_body("the request body is not a JSON object"))
            return
        if (reason := self.stats.stop_reason or self._over_budget()) is not None:
            self.stats.stop_reason = reason
            self.spent.set()
            await send(writer, 400, error_body(f"agentgym: the task's budget is spent ({reason}); stop now"))
            return
        conv = self._record_request(body, wire)
        t = time.monotonic()
        self.stats.turns += 1
        status, exchange = 0, Exchange(message={"role": "assistant", "content": None, "error": "the agent hung up"})
        try:
            status, exchange = await self._exchange(req, body, wire, writer)
        finally:  # even when the agent hung up mid-reply: the turn happened
            self.stats.model_time_s += time.monotonic() - t
            self._account(exchange, status, wire, conv)

    def _record_request(self, body: dict[str, Any], wire: str) -> str:
        """Only what is new since the previous request of the same conversation (an agent resends
        its whole history, and may hold side conversations: titles, checks); returns its key."""
        items = history(body, wire)
        conv = wire + json.dumps(items[:1], sort_keys=True, default=str)[:4096]
        seen = self._seen.get(conv, [])
        if wire == "anthropic" and not seen and body.get("system"):
            self.record({"role": "system", "content": body["system"]}, None)
        same = 0  # the longest common prefix: only what follows it is new
        while same < min(len(items), len(seen)) and items[same] == seen[same]:
            same += 1
        for item in items[same:]:
            self.record(item if isinstance(item, dict) else {"role": "user", "content": item}, None)
        self._seen[conv] = items
        return conv

    def _account(self, ex: Exchange, status: int, wire: str, conv: str) -> None:
        s = self.stats
        s.prompt_tokens += ex.prompt_tokens
        s.completion_tokens += ex.completion_tokens
        if ex.model and ex.model not in s.response_models:
            s.response_models.append(ex.model)
        meta = {"wire": wire, "status": status, "prompt_tokens": ex.prompt_tokens,
                "completion_tokens": ex.completion_tokens, "client_key": self.client_key}
        self.record(ex.message, meta)
        if wire == "chat" and status == 200:
            self._seen[conv] = [*self._seen.get(conv, []), ex.message]
        for tool, command in ex.commands:
            s.commands.append((tool, command))
            if self.observer is not None:
                self.observer.command(tool, command)
        for tool, path in ex.writes:
            if self.observer is not None:
                self.observer.write(tool, path)

    def _upstream_request(self, req: Request) -> httpx.Request:
        path = req.path.split("?", 1)[0]
        path = path[3:] if path.startswith("/v1/") else path
        headers = {"content-type": req.headers.get("content-type", "application/json"),
                   "accept": req.headers.get("accept", "*/*")}
        for name in ("anthropic-version", "anthropic-beta", "openai-beta"):
            if name in req.headers:
                headers[name] = req.headers[name]
        if self.upstream.api_key:
            headers["authorization"] = f"Bearer {self.upstream.api_key}"
            headers["x-api-key"] = self.upstream.api_key
        url = self.upstream.base_url.rstrip("/") + path
        return self._client.build_request(req.method, url, headers=headers, content=req.body)

    async def _send_upstream(self, req: Request) -> httpx.Response:
        """One request with our retry rules; the last response or error is what the agent gets."""
        for attempt in range(1, self.upstream.max_attempts + 1):
            last = attempt == self.upstream.max_attempts
            try:
                resp = await self._client.send(self._upstream_request(req), stream=True)
            except (httpx.TimeoutException, httpx.TransportError):
                if last:
                    raise
                await self._backoff(attempt, None)
                continue
            if last or not (resp.status_code in (408, 409, 429) or resp.status_code >= 500):
                return resp
            after = resp.headers.get("retry-after")
            await resp.aclose()
            await self._backoff(attempt, after)
        raise AssertionError("unreachable")

    async def _backoff(self, attempt: int, retry_after: str | None) -> None:
        try:
            wait = min(float(retry_after), self.upstream.backoff_max_s) if retry_after else None
        except ValueError:
            wait = None
        if wait is None:
            base = min(self.upstream.backoff_max_s, 0.5 * 2 ** (attempt - 1))
            wait = random.uniform(base / 2, base)
        self.stats.wait_s += wait
        await asyncio.sleep(wait)

    async def _exchange(self, req: Request, body: dict[str, Any], wire: str,
                        writer: asyncio.StreamWriter) -> tuple[int, Exchange]:
        try:
            resp = await self._send_upstream(req)
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            self.stats.error = f"{type(exc).__name__}: {exc}"
            await send(writer, 502, error_body(f"agentgym proxy: the endpoint could not be reached ({type(exc).__name__})"))
            return 502, Exchange()
        try:
            if resp.status_code == 200 and "text/event-stream" in resp.headers.get("content-type", ""):
                return 200, await self._relay_stream(resp, wire, writer)
            data = await resp.aread()
            await send(writer, resp.status_code, data, resp.headers.get("content-type", "application/json"))
            if resp.status_code != 200:
                self.stats.error = f"HTTP {resp.status_code}: {data[:300].decode('utf-8', 'replace')}"
                return resp.status_code, Exchange(message={"role": "assistant", "content": None,
                                                           "error": self.stats.error})
            try:
                return 200, parse_reply(json.loads(data), wire)
            except ValueError:
                return 200, Exchange()
        finally:
            await resp.aclose()

    async def _relay_stream(self, resp: httpx.Response, wire: str, writer: asyncio.StreamWriter) -> Exchange:
        """Pass each chunk on as it comes (chunked encoding), and re-assemble the reply. An agent
        may hang up as soon as it has the last event it needs: the reply is still read to its end,
        so that it is recorded and counted."""
        assembler = StreamAssembler(wire)
        gone = await write(writer, b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                                    b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n")
        async for chunk in resp.aiter_bytes():
            assembler.feed(chunk)
            if not gone and chunk:
                gone = await write(writer, b"%x\r\n%s\r\n" % (len(chunk), chunk))
        if not gone:
            await write(writer, b"0\r\n\r\n")
        return parse_reply(assembler.body(), wire)

    async def _forward_plain(self, req: Request, writer: asyncio.StreamWriter) -> None:
        """GET /models and the like: forwarded, not counted as turns."""
        try:
            resp = await self._send_upstream(req)
        except (httpx.TimeoutException, httpx.TransportError):
            await send(writer, 502, error_body("agentgym proxy: the endpoint could not be reached"))
            return
        try:
            await send(writer, resp.status_code, await resp.aread(), resp.headers.get("content-type", "application/json"))
        finally:
            await resp.aclose()
