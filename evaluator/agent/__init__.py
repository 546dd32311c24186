"""The agent loop (model <-> tools until the model stops or a limit is reached), the toolbox the
model calls, and the prompts it is given."""
