"""On-disk conventions: source roots, project folders, index.json, journals, temps and locks."""
