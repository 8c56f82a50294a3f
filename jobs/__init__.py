"""Background jobs: plain functions, scheduled by `jobs.scheduler` (one worker at a time)."""
