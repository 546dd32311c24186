"""Endpoint URL rules, kept apart from the SDK so that builtin and dry runs never import it."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, Field

OPENAI_URL = "https://api.openai.com/v1"


def normalize_base_url(url: str) -> str:
    """Accept a URL with or without `/v1`: a bare host gets `/v1`, any other path is kept."""
    url = url.rstrip("/")
    return url + "/v1" if urlparse(url).path in ("", "/") else url


def needs_key(base_url: str) -> bool:
    """Only the default OpenAI endpoint insists on a key; local servers (vLLM, llama.cpp) work without."""
    return urlparse(normalize_base_url(base_url)).hostname == "api.openai.com"


class EndpointKnobs(BaseModel):
    """What every request to a model endpoint is made with: the run's settings (config.settings.RunConfig)
    and the SDK client's (models.openai_model.EndpointConfig) are both this, plus their own key type."""

    model: str
    base_url: str = OPENAI_URL
    temperature: float | None = 0.0
    max_output_tokens: int = 4096
    include_reasoning_content: bool = False
    extra_body: dict[str, Any] = Field(default_factory=dict)
    request_timeout_s: float = 300.0
    max_attempts: int = 10
    max_inflight: int = 16
    reasoning_effort: str | None = None
    headers: dict[str, str] = Field(default_factory=dict, repr=False,
                                    description="--header; credential values redacted in run.json.")
