"""What a run writes and how: the typed records, the run directory (atomic writes, transcripts,
artifacts), merging shard runs, and the generated schema page."""
