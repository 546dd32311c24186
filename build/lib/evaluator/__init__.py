"""AgentGym: evaluate LLMs and coding agents as tool-using agents on real repositories.

One package per concern; data flows one way: cli -> config -> tasks -> execution (agent <-> models,
sandbox) -> scoring -> results -> reporting. docs/architecture.md has the map."""
