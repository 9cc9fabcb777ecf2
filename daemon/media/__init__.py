"""Reading media files: metadata (PyAV, Pillow, pillow-heif) and thumbnails."""
