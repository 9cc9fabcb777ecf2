"""Static checks of the deploy/ files: image, compose, bake, systemd units, resolve-agent recipes."""
