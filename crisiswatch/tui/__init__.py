"""The Textual dashboard. Only this package imports Textual; it renders store state and sends commands to the store."""
