"""Option checks shared by the commands (typer callbacks that name the option)."""

from __future__ import annotations

import math

import typer


def positive(value: float | None, param: typer.CallbackParam = None) -> float | None:
    """Callback: a finite number > 0 (or unset)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        name = param.opts[0] if param is not None and param.opts else "value"
        raise typer.BadParameter(f"{value}: must be a finite number > 0", param_hint=name)
    return value
