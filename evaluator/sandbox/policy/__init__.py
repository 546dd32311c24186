"""The command policy: a bash-aware parser that finds every program a command line runs, and the
rules that allow, refuse or flag it."""
