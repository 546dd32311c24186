"""Plug-ins that tests name by dotted path, as a user names their own."""
