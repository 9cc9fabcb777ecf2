"""Ingest: how bytes become catalogued files (uploads, drops, moves, trash, tags), one pipeline."""
