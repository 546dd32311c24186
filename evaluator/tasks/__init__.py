"""What is evaluated: repo and task specs, loading and validating the task tree, the clone cache
and working copies, and the plan (which task at which commit, hashed and sharded)."""
