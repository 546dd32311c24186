"""Every knob of a run: flags, environment settings and `.env`, the data paths, the plug-in
registries, and `ConfigError` for bad input."""
