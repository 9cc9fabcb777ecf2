"""Tests for HTTP file streaming: Range, conditional requests, downloads."""
