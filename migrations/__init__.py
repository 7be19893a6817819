"""Alembic revisions, installed as ``hub.migrations`` so that `hub db upgrade` finds them anywhere."""
