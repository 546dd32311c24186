"""An OpenAI-compatible Chat Completions endpoint, through the official async SDK.

Retries are tenacity's (the SDK's own are off) so that time spent in backoff is measured
and kept out of the task's timeout; `Retry-After` is honoured.
"""
from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from typing import Any

import openai
from pydantic import BaseModel, Field, ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from evaluator.models import ModelError, ModelReply, PreflightError, TaskContext
from evaluator.models.images import lift_tool_images
from evaluator.models.endpoint import EndpointKnobs, needs_key, normalize_base_url
from evaluator.models.retry_notes import retry_line, unreachable
from evaluator.reporting.textsafe import clean, escape_surrogates

_SLOTS: dict[str, asyncio.Semaphore] = {}  # in-flight cap per endpoint, shared by all tasks
_MESSAGE_KEYS = ("role", "content", "tool_calls", "reasoning_content")  # what a reply keeps


class EndpointConfig(EndpointKnobs):
    api_key: str | None = Field(None, repr=False)
    backoff_max_s: float = 60.0


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError)):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return isinstance(exc, GarbageResponse)


class GarbageResponse(Exception):
    """A 200 whose body is not what the API promises; retried like a 5xx."""


class _Choice(BaseModel):
    message: dict[str, Any] | None = Field(None, description="Kept as sent: the agent loop judges malformed tool calls.")
    finish_reason: str | None = None


class _Usage(BaseModel):
    prompt_tokens: int | None = 0
    completion_tokens: int | None = 0
    completion_tokens_details: Any = None  # {"reasoning_tokens": n}, where reported; anything else is ignored

    def reasoning_tokens(self) -> int:
        details = self.completion_tokens_details
        value = details.get("reasoning_tokens") if isinstance(details, dict) else None
        return value if isinstance(value, int) and value > 0 else 0


class _ChatBody(BaseModel):
    """What the harness reads from a Chat Completions response (other fields are ignored).

    Validated from the raw bytes in one pass: the SDK's own response models cost more CPU
    per request than the rest of the agent loop, and lose nothing we use."""

    choices: list[_Choice]
    model: str | None = None
    system_fingerprint: str | None = None
    usage: _Usage | None = None


_MAX_DEPTH = 64  # a message nested deeper is not a chat message; deeper still would exhaust the stack


def _depth(value: Any) -> int:
    """How deeply lists and dicts nest in `value`, counted without recursion."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, d = todo.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, d)
            if d <= _MAX_DEPTH:
                todo.extend((v, d + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def _parse_body(raw: bytes) -> _ChatBody:
    try:
        body = _ChatBody.model_validate_json(raw)
    except ValidationError:
        # The fast parser refuses JSON that Python's accepts, e.g. a lone surrogate escape ("\ud800")
        # in a model's text: that is the model's text, not a broken reply (it is escaped later).
        try:
            body = _ChatBody.model_validate(json.loads(raw))
        except (ValueError, RecursionError, ValidationError):
            raise GarbageResponse(f"unexpected response body: {raw[:200]!r}") from None
    if any(_depth(c.message) > _MAX_DEPTH for c in body.choices):
        raise GarbageResponse(f"a message nests deeper than {_MAX_DEPTH} levels: {raw[:200]!r}")
    return body


def drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_none(v) for v in value]
    return value


def _retry_after(exc: BaseException | None) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _is_overflow(exc: openai.APIStatusError) -> bool:
    text = f"{getattr(exc, 'code', '')} {exc.message}".lower()
    return any(s in text for s in ("context_length", "context length", "maximum context", "too many tokens", "prompt is too long"))


class OpenAIModel:
    def __init__(self, cfg: EndpointConfig, *, quiet: bool = False) -> None:
        self.cfg, self.quiet = cfg, quiet
        self.name = cfg.model
        self.base_url = normalize_base_url(cfg.base_url)
        self.client = openai.AsyncOpenAI(api_key=cfg.api_key or "EMPTY", base_url=self.base_url,
                                         timeout=cfg.request_timeout_s, max_retries=0,
                                         default_headers=cfg.headers or None)
        self.token_param = "max_completion_tokens" if needs_key(self.base_url) else "max_tokens"
        self.send_temperature = cfg.temperature is not None

    def _slot(self) -> asyncio.Semaphore:
        return _SLOTS.setdefault(self.base_url, asyncio.Semaphore(self.cfg.max_inflight))

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        after = _retry_after(exc)
        if after is not None:
            return min(after, self.cfg.backoff_max_s)
        base = min(self.cfg.backoff_max_s, 0.5 * 2 ** (state.attempt_number - 1))
        return random.uniform(base / 2, base)  # "equal jitter"

    def _progress(self, state: RetryCallState) -> None:
        print(retry_line(self.base_url, state, self.cfg.max_attempts), file=sys.stderr, flush=True)

    def _params(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], max_tokens: int) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.cfg.model, "messages": messages, self.token_param: max_tokens}
        if tools:
            params["tools"] = tools
        if self.send_temperature:
            params["temperature"] = self.cfg.temperature
        if self.cfg.reasoning_effort:
            params["reasoning_effort"] = self.cfg.reasoning_effort
        return {**params, **self.cfg.extra_body}

    def _adapt(self, exc: openai.APIStatusError) -> bool:
        """Switch parameter dialect on a 400 that names it; True when a retry may now succeed."""
        text = exc.message.lower()
        if "max_tokens" in text and self.token_param == "max_tokens":
            self.token_param = "max_completion_tokens"
            return True
        if "max_completion_tokens" in text and self.token_param == "max_completion_tokens":
            self.token_param = "max_tokens"
            return True
        if "temperature" in text and self.send_temperature:
            self.send_temperature = False
            return True
        return False

    async def send(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], max_tokens: int) -> Any:
        """One HTTP request; the parsed body, or GarbageResponse. API adapters override this."""
        # The SDK's HTTP, auth and errors; the request body goes as it is
        # (our messages are plain JSON, so its TypedDict transform is skipped).
        raw = await self.client.post("/chat/completions", cast_to=bytes, body=self._params(messages, tools, max_tokens))
        return _parse_body(raw)

    async def _create(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], max_tokens: int,
                      *, fail_fast: bool = False) -> tuple[Any, float]:
        waited = [0.0]  # backoff sleeps plus time queued for an endpoint slot

        async def sleep(seconds: float) -> None:
            waited[0] += seconds
            await asyncio.sleep(seconds)

        for _ in range(3):  # at most two parameter-dialect switches
            try:
                # fail_fast (preflight): nothing listening or no such host will not heal by waiting.
                retry = retry_if_exception(lambda e: _retryable(e) and not (fail_fast and unreachable(e)))
                async for attempt in AsyncRetrying(stop=stop_after_attempt(self.cfg.max_attempts), wait=self._wait,
                                                   retry=retry, reraise=True, sleep=sleep,
                                                   before_sleep=None if self.quiet else self._progress):
                    with attempt:
                        t0 = time.monotonic()
                        async with self._slot():
                            waited[0] += time.monotonic() - t0
                            resp = await self.send(messages, tools, max_tokens)
                return resp, waited[0]
            except openai.BadRequestError as exc:
                if _is_overflow(exc) or not self._adapt(exc):
                    raise
        raise ModelError("api_error", "the endpoint rejected every parameter dialect")

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], ctx: TaskContext) -> ModelReply:
        try:
            resp, waited = await self._create(self._outgoing(messages), tools, self.cfg.max_output_tokens)
        except openai.APIStatusError as exc:
            kind = "context_overflow" if exc.status_code in (400, 413) and _is_overflow(exc) else "api_error"
            raise ModelError(kind, escape_surrogates(f"HTTP {exc.status_code}: {exc.message}")) from None
        except (openai.APIError, GarbageResponse) as exc:
            raise ModelError("api_error", escape_surrogates(f"{type(exc).__name__}: {exc}")) from None
        return self.to_reply(resp, waited)

    def to_reply(self, resp: _ChatBody, waited: float) -> ModelReply:
        """The parsed body as the loop's assistant message; API adapters override this."""
        usage = resp.usage or _Usage()
        choice = resp.choices[0] if resp.choices else None
        message = None
        if choice is not None and choice.message is not None:
            message = {k: v for k, v in drop_none(choice.message).items() if k in _MESSAGE_KEYS}
        # Everything the endpoint sent is stored and sent back: a lone surrogate ("\ud800" in its
        # JSON) cannot be encoded as UTF-8, so it is kept as the escape text instead.
        return ModelReply(
            message=clean(message),
            prompt_tokens=usage.prompt_tokens or 0,
            completion_tokens=usage.completion_tokens or 0,
            model=clean(resp.model),
            system_fingerprint=clean(resp.system_fingerprint),
            finish_reason=clean(choice.finish_reason if choice else None),
            reasoning_tokens=usage.reasoning_tokens(),
            wait_s=waited,
        )

    def _outgoing(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """reasoning_content is kept in the transcript but sent back only to providers that need it.
        Images shown by tools travel in a user message after the tool messages."""
        messages = lift_tool_images(messages)
        if self.cfg.include_reasoning_content:
            return messages
        return [{k: v for k, v in m.items() if k != "reasoning_content"} for m in messages]

    async def preflight(self) -> None:
        """One tiny request: a bad key, unknown model or unreachable endpoint stops the run here."""
        try:
            await self._create([{"role": "user", "content": "Reply with OK."}], [], 16, fail_fast=True)
        except openai.AuthenticationError as exc:
            raise PreflightError(f"the API key was rejected by {self.base_url} (HTTP {exc.status_code}); check OPENAI_API_KEY or --api-key") from None
        except openai.PermissionDeniedError as exc:
            raise PreflightError(f"the API key may not use model {self.cfg.model!r} at {self.base_url} (HTTP {exc.status_code})") from None
        except openai.NotFoundError:
            raise PreflightError(f"model {self.cfg.model!r} or its endpoint was not found at {self.base_url} (HTTP 404); check --model and --base-url") from None
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            if unreachable(exc):
                raise PreflightError(f"cannot reach {self.base_url}: connection refused or unknown host; "
                                     "check --base-url and that the server is running") from None
            raise PreflightError(f"cannot reach {self.base_url}: {exc}; check --base-url") from None
        except openai.APIStatusError as exc:
            raise PreflightError(f"the endpoint {self.base_url} refused a test request: HTTP {exc.status_code}: {exc.message}") from None
        except GarbageResponse as exc:
            raise PreflightError(f"{self.base_url} did not answer like an OpenAI-compatible API: {exc}") from None

    async def aclose(self) -> None:
        await self.client.close()
