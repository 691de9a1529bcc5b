"""crisiswatch: a terminal dashboard for following a crisis as it happens."""

__version__ = "0.1.0"
