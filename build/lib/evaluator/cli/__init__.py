"""The commands: argument parsing, one-sentence errors and exit codes. `python -m evaluator.X` and
`agentgym X` both land here."""
