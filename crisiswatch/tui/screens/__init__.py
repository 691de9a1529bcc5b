"""Screens pushed over the dashboard: help, feed health, export prompt, detail."""
