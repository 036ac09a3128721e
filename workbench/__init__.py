"""synthdiv's wiring: the CLI, experiment configs, worker processes, the Textual app, export."""
