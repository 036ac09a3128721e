"""synthdiv's Textual screens and widgets (and their ``.tcss``): views of the store, no models."""
