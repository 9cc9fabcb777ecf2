"""media-sync's domain: settings, catalog, on-disk conventions, ingest, reconcile and jobs."""

__version__ = "0.1.0"
