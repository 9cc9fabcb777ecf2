"""In-process tests for the foundation: settings, catalog, projects, upload, sources, rebuild."""
