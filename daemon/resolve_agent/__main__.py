"""``python -m daemon.resolve_agent``: the same as `media-sync resolve-agent`."""

import sys

from daemon.resolve_agent.cli import main

sys.exit(main(sys.argv[1:]))
