"""Alembic revisions; each module is one schema change."""
