"""media-sync's HTTP front door (Litestar): parse, call the daemon library, shape responses."""
