"""Endpoint URL rules, kept apart from the SDK so that builtin and dry runs never import it."""
from __future__ import annotations

from urllib.parse import urlparse

OPENAI_URL = "https://api.openai.com/v1"


def normalize_base_url(url: str) -> str:
    """Accept a URL with or without `/v1`: a bare host gets `/v1`, any other path is kept."""
    url = url.rstrip("/")
    return url + "/v1" if urlparse(url).path in ("", "/") else url


def needs_key(base_url: str) -> bool:
    """Only the default OpenAI endpoint insists on a key; local servers (vLLM, llama.cpp) work without."""
    return urlparse(normalize_base_url(base_url)).hostname == "api.openai.com"
