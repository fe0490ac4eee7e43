"""App Bazaar flows as data, the runner that executes them, and legacy ExoML."""
