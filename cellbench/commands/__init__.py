"""Typer commands of the ``cellbench`` CLI; each module parses options and calls the library."""
