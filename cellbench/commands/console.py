"""Rich tables shared by the CLI commands."""

from __future__ import annotations

import shutil

from rich.console import Console
from rich.table import Table

from cellbench.evaluation.pointwise import METRIC_LABELS

# Wide enough for a metrics table even when stdout is not a terminal (CI logs, pipes).
console = Console(width=max(shutil.get_terminal_size((160, 24)).columns, 140))


def metrics_table(title: str, rows: list[tuple[str, dict]], keys: list[str] | None = None) -> Table:
    """One row per model, one column per metric (labels carry units)."""
    keys = keys or list(METRIC_LABELS)
    table = Table(title=title)
    table.add_column("model", no_wrap=True)
    for k in keys:
        table.add_column(METRIC_LABELS.get(k, k), justify="right")
    for name, m in rows:
        cells = []
        for k in keys:
            v = m.get(k)
            cells.append("-" if v is None else (f"{v:d}" if isinstance(v, int) else f"{v:.4g}"))
        table.add_row(name, *cells)
    return table
