"""Errors, project paths, the engine connection and id masking: imports nothing of the package above it."""
