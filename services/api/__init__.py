"""The HTTP API (FastAPI): webhooks, bills and scheduler endpoints over the same services as the UI."""
from services.api.app import create_app

__all__ = ["create_app"]
