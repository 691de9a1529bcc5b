"""Dashboard widgets, one module each."""
