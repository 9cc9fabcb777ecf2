"""Resolve jobs on the server side: the state machine, the leased queue and job requests."""
