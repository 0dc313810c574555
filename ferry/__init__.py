"""Ferry: an event-driven integration platform for Odoo."""

__version__ = "0.1.0"
