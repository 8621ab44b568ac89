"""Runs a report (run context, runner, command line): may import every layer below."""
