"""The model a run talks to, from its config: builtin or endpoint, Chat Completions or
Responses, native or text tool format. The SDK is imported only for endpoints."""
from __future__ import annotations

from evaluator.config.errors import ConfigError
from evaluator.config.settings import RunConfig
from evaluator.models import BUILTIN_MODELS, Model
from evaluator.models.text_tools import TextToolsModel


def _endpoint(cfg: RunConfig, quiet: bool) -> Model:
    from evaluator.models.openai_model import EndpointConfig, OpenAIModel
    from evaluator.models.responses_model import ResponsesModel

    kind = ResponsesModel if cfg.api == "responses" else OpenAIModel
    return kind(EndpointConfig(
        model=cfg.model, base_url=cfg.base_url, api_key=cfg.api_key.get_secret_value() if cfg.api_key else None,
        temperature=cfg.temperature, max_output_tokens=cfg.max_output_tokens,
        include_reasoning_content=cfg.include_reasoning_content, extra_body=cfg.extra_body,
        request_timeout_s=cfg.request_timeout_s, max_attempts=cfg.max_attempts, max_inflight=cfg.max_inflight,
        reasoning_effort=cfg.reasoning_effort, headers=cfg.headers), quiet=quiet)


def make_model(cfg: RunConfig, *, quiet: bool = False) -> Model:
    """`quiet`: no retry progress lines on stderr."""
    text = cfg.tool_format == "text"
    if cfg.model in BUILTIN_MODELS:
        from evaluator.models.builtin import NopModel, OracleModel

        model: Model = OracleModel(text_format=text) if cfg.model == "builtin/oracle" else NopModel()
    elif cfg.model.startswith("builtin/"):
        raise ConfigError(f"unknown built-in model {cfg.model!r}; choose one of {', '.join(BUILTIN_MODELS)}")
    else:
        model = _endpoint(cfg, quiet)
    return TextToolsModel(model) if text else model
