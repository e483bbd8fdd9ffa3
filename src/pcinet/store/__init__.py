"""The durable store: SQLAlchemy models, Alembic migrations, units of work, and one module of
plain ``verb_noun(session, ...)`` functions per resource. Claims are made safe by the
database (a compare-and-swap on the host's generation, a unique allocation per device), not
by a process-local lock."""
