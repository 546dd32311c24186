"""Test and benchmark helpers that ship with the package: the scripted OpenAI-compatible server."""
