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
    # The endpoint's settings are the run's fields of the same names (not copied one by one).
    shared = cfg.model_dump(include=set(EndpointConfig.model_fields) - {"api_key"})
    key = cfg.api_key.get_secret_value() if cfg.api_key else None
    return kind(EndpointConfig(**shared, api_key=key), quiet=quiet)


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
