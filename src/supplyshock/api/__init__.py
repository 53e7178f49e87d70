"""The REST API under ``/api/v1``: :func:`supplyshock.api.app.create_app` builds it."""
