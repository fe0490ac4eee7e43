"""The HTTP face of the service: ``create_app(settings)`` and what every route shares."""
