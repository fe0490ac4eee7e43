"""API keys with scopes (admin, integration, read-only) and the dependency that checks them."""
