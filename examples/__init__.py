"""Runnable examples of cellbench (``examples.custom_model`` is also a ``--plugin`` module)."""
