"""The processes: start-up, the watcher daemon, the services `serve` runs beside HTTP."""
