"""The ``pcinet`` command line (Typer + Rich)."""
