"""A small in-memory ORM with Odoo's external semantics: fields, domains, orders, commands."""
