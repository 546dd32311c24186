"""Running: one run (concurrency, manifest, resume, cancellation) and one trial (working copy ->
sandbox -> agent loop -> score)."""
