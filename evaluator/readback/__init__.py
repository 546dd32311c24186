"""What the host reads back from a task's working copy after the sandbox closes: reads and copies that
never follow a link out of it and are capped (answers, artifacts)."""
