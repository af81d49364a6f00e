"""Agent executors: argv builders and pure stream parsers for each agent CLI."""
