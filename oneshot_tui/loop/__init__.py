"""The worker/auditor loop: prompts, verdict parsing and the retry policy."""
