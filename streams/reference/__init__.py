"""Reference data the stream rules check against (ISO 4217 currencies, ISO 3166-1 countries)."""
