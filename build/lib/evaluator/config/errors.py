"""The one error type for bad user input."""


class ConfigError(Exception):
    """Bad user input: a file, a flag or a reference. Printed as one sentence, exit 2."""
