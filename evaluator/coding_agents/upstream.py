"""The real endpoint behind the model proxy, and a preflight in the agent's own wire protocol."""
from __future__ import annotations

from typing import Any

import httpx2 as httpx  # the HTTP client the openai SDK itself uses (locked through it)
from pydantic import BaseModel, Field


class Upstream(BaseModel):
    base_url: str = Field(description="The real endpoint, ending in /v1 (or its equivalent).")
    api_key: str | None = Field(None, repr=False)
    request_timeout_s: float = 300.0
    max_attempts: int = 10
    backoff_max_s: float = 60.0


PREFLIGHT_BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    "chat": ("/chat/completions", {"messages": [{"role": "user", "content": "Reply with OK."}], "max_tokens": 16}),
    "responses": ("/responses", {"input": "Reply with OK.", "max_output_tokens": 16}),
    "anthropic": ("/messages", {"messages": [{"role": "user", "content": "Reply with OK."}], "max_tokens": 16}),
}


async def preflight(upstream: Upstream, wire: str, model: str) -> str | None:
    """One tiny request in the agent's own wire protocol; None when it worked, else one sentence."""
    path, body = PREFLIGHT_BODIES[wire]
    headers = {"content-type": "application/json", "anthropic-version": "2023-06-01"}
    if upstream.api_key:
        headers.update({"authorization": f"Bearer {upstream.api_key}", "x-api-key": upstream.api_key})
    url = upstream.base_url.rstrip("/") + path
    try:
        async with httpx.AsyncClient(timeout=min(upstream.request_timeout_s, 60)) as client:
            resp = await client.post(url, headers=headers, json={"model": model, **body})
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        return f"cannot reach {url}: {type(exc).__name__}; check --base-url"
    if resp.status_code in (401, 403):
        return f"the API key was rejected by {url} (HTTP {resp.status_code}); check OPENAI_API_KEY or --api-key"
    if resp.status_code == 404:
        return f"{url} was not found (HTTP 404): the endpoint must speak the agent's protocol ({wire}); check --base-url"
    if resp.status_code >= 400:
        return f"the endpoint {url} refused a test request: HTTP {resp.status_code}: {resp.text[:200]}"
    return None
