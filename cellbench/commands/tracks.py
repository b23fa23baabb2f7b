"""``cellbench tracks info FILE``: what a tracks file holds, with units."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer
from rich.table import Table

from cellbench.commands.options import with_read_options
from cellbench.data.readers import read_with
from cellbench.commands.console import console
from cellbench.data.targets import displacement_targets

if TYPE_CHECKING:
    from cellbench.data.readers.options import ReadOptions

app = typer.Typer(no_args_is_help=True, help="Inspect tracks files.")


def summary(tracks) -> list[tuple[str, str]]:
    """(quantity with unit, value) pairs describing a tracks table."""
    per_frame = tracks.cells_per_frame()
    y, valid = displacement_targets(tracks)
    m = tracks.meta
    rows = [
        ("dataset", m.dataset),
        ("rows (spots)", f"{tracks.n_rows:,}"),
        ("tracks", f"{len(tracks.track_ids):,}"),
        ("frames with cells", f"{len(tracks.frames):,} (frame {tracks.frames.min()} to {tracks.frames.max()})"),
        ("cells per frame (median / max)", f"{np.median(per_frame):g} / {per_frame.max()}"),
        ("one-step targets", f"{int(valid.sum()):,}"),
    ]
    if valid.any():
        sd = np.std(y[valid], axis=0)
        rows.append(("displacement std dx / dy (um per frame)", f"{sd[0]:.3f} / {sd[1]:.3f}"))
    rows += [
        ("positions", "um"),
        ("frame interval (s)", "unknown" if m.frame_interval_s is None else f"{m.frame_interval_s:g}"),
        ("pixel size (um)", "unknown" if m.pixel_um is None else f"{m.pixel_um:g}"),
        ("field of view (um)", "unknown" if m.fov_um is None else ", ".join(f"{v:g}" for v in m.fov_um)),
        ("columns", ", ".join(tracks.df.columns)),
        ("source sha256", m.source_sha256 or "-"),
    ]
    return rows


@app.command("info")
@with_read_options
def info(
    file: Annotated[Path, typer.Argument(help="Tracks file: TrackMate CSV/XML, CTC folder, geff folder, cellbench "
                                              "parquet, or a napari/Ultrack/laptrack/btrack/--columns table.")],
    read: ReadOptions | None = None,
):
    """Rows, tracks, frames, cells per frame and displacement statistics of FILE."""
    tracks = read_with(file, read)
    table = Table(title=str(file), show_header=False)
    table.add_column("quantity")
    table.add_column("value")
    for k, v in summary(tracks):
        table.add_row(k, v)
    console.print(table)
