"""The workstation side of the Resolve bridge: path mapping, the Resolve adapter and the agent."""
