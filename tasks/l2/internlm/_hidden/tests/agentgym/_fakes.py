"""Small fakes for streamlit's session state and widgets, shared by the demo tests."""
import contextlib
import types


class SessionState(dict):
    """streamlit's session state: both `state.key` and `state["key"]` work."""

    def __getattr__(self, key):
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key, value):
        self[key] = value

    def __delattr__(self, key):
        try:
            del self[key]
        except KeyError:
            raise AttributeError(key) from None


class Widgets:
    """Records widget calls and answers each with a preset value, or the widget's own default."""

    def __init__(self, answers=None, **state):
        self.answers = answers or {}
        self.calls = []
        self.session_state = SessionState(state)
        self.sidebar = contextlib.nullcontext()

    def _widget(self, kind, label, *args, **kwargs):
        self.calls.append((kind, label, args, kwargs))
        if label in self.answers:
            return self.answers[label]
        if "value" in kwargs:
            return kwargs["value"]
        if kind == "radio":
            return args[0][0]
        return args[2] if len(args) > 2 else None

    def __getattr__(self, kind):
        if kind.startswith("_"):
            raise AttributeError(kind)
        return lambda label, *args, **kwargs: self._widget(kind, label, *args, **kwargs)


def fake_module(**attrs):
    return types.SimpleNamespace(**attrs)
