"""The watcher daemon: list -> plan (pure) -> execute, driven by file events and a periodic scan."""
