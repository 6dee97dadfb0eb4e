"""Alembic migrations of the app database (shipped in the wheel; run by `models.schema`)."""
