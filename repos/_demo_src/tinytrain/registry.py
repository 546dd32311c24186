"""Registries that map the ``type`` strings of config files to classes.

This module defines 3 registries: one for hooks, one for metrics and one for models.
Classes join a registry with the ``register_module`` decorator, for example::

    @HOOKS.register_module()
    class MyHook(Hook):
        ...
"""


class Registry:
    """A name -> class mapping, filled by :meth:`register_module`."""

    def __init__(self, name, parent=None):
        self.name = name
        self.parent = parent
        self._module_dict = {}

    def __len__(self):
        return len(self._module_dict)

    def __contains__(self, key):
        return self.get(key) is not None

    def __repr__(self):
        return f"Registry(name={self.name!r}, items={sorted(self._module_dict)})"

    def get(self, key):
        if key in self._module_dict:
            return self._module_dict[key]
        if self.parent is not None:
            return self.parent.get(key)
        return None

    def register_module(self, name=None, force=False):
        """Decorator that registers a class under ``name`` (default: the class name)."""

        def _register(cls):
            key = name or cls.__name__
            if key in self._module_dict and not force:
                raise KeyError(f"{key} is already registered in {self.name}")
            self._module_dict[key] = cls
            return cls

        return _register

    def build(self, cfg, **default_args):
        """Instantiate ``cfg['type']`` with the remaining keys as keyword arguments."""
        args = dict(cfg)
        obj_type = args.pop("type")
        args.pop("abbr", None)  # a short run name for logs, not a constructor argument
        cls = self.get(obj_type)
        if cls is None:
            raise KeyError(f"{obj_type} is not in the {self.name} registry")
        for key, value in default_args.items():
            args.setdefault(key, value)
        return cls(**args)


HOOKS = Registry("hook")
METRICS = Registry("metric")
MODELS = Registry("model")
DATASETS = Registry("dataset")
