"""The dashboard at ``/ui``: server-rendered pages (Jinja2) for operators and members."""
