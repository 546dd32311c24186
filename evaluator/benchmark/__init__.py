"""`python -m evaluator.bench`: what the harness adds to the model's own latency, measured against a
floor and against Inspect AI."""
