"""OpenAI's Responses API (`--api responses`), through the official async SDK.

The loop keeps Chat Completions-shaped messages; this adapter translates them to Responses
input items and back. Requests are stateless (`store: false`) and ask for
`reasoning.encrypted_content`, so a reasoning model's reasoning items come back in
`response.output`; they are kept verbatim on the assistant message (`response_output`) and
sent back on every later turn, which is how the vendor means a reasoning model to continue
its own chain of thought across tool calls. Retries, backoff, endpoint slots, dialect
switches and error classification are OpenAIModel's, inherited.
"""
from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError

from evaluator.models import ModelError, ModelReply
from evaluator.models.images import data_url, is_ref
from evaluator.models.openai_model import GarbageResponse, OpenAIModel, drop_none

OUTPUT_KEY = "response_output"  # the assistant message's verbatim Responses output items


class _Usage(BaseModel):
    input_tokens: int | None = 0
    output_tokens: int | None = 0
    output_tokens_details: dict[str, Any] | None = None


class _ResponseBody(BaseModel):
    """What the harness reads from a response; everything else is ignored."""

    output: list[dict[str, Any]]
    model: str | None = None
    status: str | None = None
    error: dict[str, Any] | None = None
    incomplete_details: dict[str, Any] | None = None
    usage: _Usage | None = None


def to_tools(tools: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat Completions tool schemas -> Responses function tools (flat: no `function` wrapper)."""
    return [{"type": "function", **t["function"]} for t in tools if t.get("type") == "function"]


def _content(content: Any, role: str) -> Any:
    """A message's content as Responses parts: text stays a string, parts are renamed."""
    if not isinstance(content, list):
        return content or ""
    parts = []
    for part in content:
        if part.get("type") == "text":
            parts.append({"type": "output_text" if role == "assistant" else "input_text", "text": part.get("text", "")})
        elif is_ref(part):
            parts.append({"type": "input_image", "image_url": data_url(part), "detail": "auto"})
        elif part.get("type") == "image_url":
            parts.append({"type": "input_image", "image_url": (part.get("image_url") or {}).get("url", ""), "detail": "auto"})
        else:
            parts.append(part)
    return parts


def _assistant_items(m: dict[str, Any]) -> list[dict[str, Any]]:
    if isinstance(m.get(OUTPUT_KEY), list):
        return m[OUTPUT_KEY]  # as the API sent them: reasoning items stay next to their calls
    items: list[dict[str, Any]] = []
    if m.get("content"):
        items.append({"role": "assistant", "content": _content(m["content"], "assistant")})
    for call in m.get("tool_calls") or []:
        fn = call.get("function") or {}
        items.append({"type": "function_call", "call_id": call.get("id") or "", "name": fn.get("name") or "",
                      "arguments": fn.get("arguments") or ""})
    return items


def to_input(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Chat Completions messages -> Responses input items."""
    items: list[dict[str, Any]] = []
    for m in messages:
        role = m.get("role")
        if role == "assistant":
            items.extend(_assistant_items(m))
        elif role == "tool":
            items.append({"type": "function_call_output", "call_id": m.get("tool_call_id") or "",
                          "output": _content(m.get("content"), "tool")})
        else:
            items.append({"role": role, "content": _content(m.get("content"), role or "user")})
    return items


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _parts(value: Any) -> list[dict[str, Any]]:
    return [p for p in value if isinstance(p, dict)] if isinstance(value, list) else []


def to_message(output: list[dict[str, Any]]) -> dict[str, Any]:
    """Responses output items -> one assistant message (text, tool calls, reasoning summary).
    Whatever the endpoint sent, the result is well-typed: odd fields become empty strings."""
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    reasoning: list[str] = []
    for item in output:
        kind = item.get("type")
        if kind == "message":
            texts += [_str(p.get("text")) for p in _parts(item.get("content")) if p.get("type") == "output_text"]
        elif kind == "function_call":
            args = item.get("arguments")
            calls.append({"id": _str(item.get("call_id")) or _str(item.get("id")), "type": "function",
                          "function": {"name": _str(item.get("name")),
                                       "arguments": args if isinstance(args, str) else json.dumps(args)}})
        elif kind == "reasoning":
            reasoning += [_str(p.get("text")) for p in _parts(item.get("summary"))]
    message: dict[str, Any] = {"role": "assistant", "content": "".join(texts) or None, OUTPUT_KEY: output}
    if calls:
        message["tool_calls"] = calls
    if reasoning:
        message["reasoning_content"] = "\n".join(reasoning)
    return message


class ResponsesModel(OpenAIModel):
    """A model behind POST /v1/responses."""

    def request(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], max_tokens: int) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.cfg.model, "input": to_input(messages), "max_output_tokens": max_tokens,
                                  "store": False, "include": ["reasoning.encrypted_content"]}
        if tools:
            params["tools"] = to_tools(tools)
        if self.send_temperature:
            params["temperature"] = self.cfg.temperature
        if self.cfg.reasoning_effort:
            params["reasoning"] = {"effort": self.cfg.reasoning_effort}
        return params

    async def send(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], max_tokens: int) -> Any:
        # The SDK's request, auth and errors; the body is validated here from the raw bytes, since
        # the SDK builds its objects without validating them (and a non-JSON 200 must be retried).
        raw = await self.client.responses.with_raw_response.create(**self.request(messages, tools, max_tokens),
                                                                   extra_body=self.cfg.extra_body or None)
        body = raw.http_response.content
        try:
            return _ResponseBody.model_validate_json(body)
        except ValidationError:
            raise GarbageResponse(f"unexpected response body: {body[:200]!r}") from None

    def _outgoing(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return messages  # reasoning travels as output items; reasoning_content is only a summary

    def to_reply(self, resp: _ResponseBody, waited: float) -> ModelReply:
        if resp.status == "failed":
            detail = json.dumps(resp.error or {}, ensure_ascii=False)[:500]
            raise ModelError("api_error", f"the response failed: {detail}")
        usage = resp.usage or _Usage()
        details = usage.output_tokens_details or {}
        reasoning = details.get("reasoning_tokens")
        finish = resp.status
        if resp.status == "incomplete":
            finish = str((resp.incomplete_details or {}).get("reason") or "incomplete")
        return ModelReply(
            message=to_message([drop_none(item) for item in resp.output]),
            prompt_tokens=usage.input_tokens or 0,
            completion_tokens=usage.output_tokens or 0,
            reasoning_tokens=reasoning if isinstance(reasoning, int) and reasoning > 0 else 0,
            model=resp.model, finish_reason=finish, wait_s=waited,
        )
