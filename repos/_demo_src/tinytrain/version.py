__version__ = "0.3.1"


def parse_version_info(version_str):
    """'0.3.1' -> (0, 3, 1)."""
    return tuple(int(x) for x in version_str.split("."))


version_info = parse_version_info(__version__)
