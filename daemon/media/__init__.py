"""Reading media files: ``metadata.extract_metadata`` and ``thumbnails.make_thumbnail`` (PyAV, Pillow, pillow-heif)."""
