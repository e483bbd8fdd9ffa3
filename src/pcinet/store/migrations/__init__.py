"""Alembic environment and revisions of the pcinet schema (run by ``pcinet.store.db.upgrade``)."""
