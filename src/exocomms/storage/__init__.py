"""Storage: engine and sessions (``db``), tables (``tables``), migrations (``migrations``)."""
