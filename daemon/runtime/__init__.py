"""The processes: the one start-up routine, `media-sync daemon`, its services and commands."""
