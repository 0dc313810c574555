"""Ferry's async client for Odoo's external API (JSON-RPC for 17/18, JSON-2 for 19+)."""
