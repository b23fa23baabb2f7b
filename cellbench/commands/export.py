"""``cellbench export``: a run's tracks and predicted steps for napari, or any tracks file as a geff graph."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from cellbench.commands.console import console
from cellbench.commands.options import with_read_options
from cellbench.errors import ConfigError

if TYPE_CHECKING:
    from cellbench.data.readers.options import ReadOptions

app = typer.Typer(no_args_is_help=True, subcommand_metavar="",
                  help="Export tracks and a run's predictions for a viewer (napari), or tracks as a geff graph.")


@app.callback(invoke_without_command=True)
@with_read_options
def export(
    napari: Annotated[Optional[Path], typer.Option(
        file_okay=False, exists=True, help="Run folder (cellbench run --out): write its test-block tracks (um) as "
        "napari's tracks CSV, the true and predicted displacements as napari vectors (.npy) and napari.json (units, "
        "scale, how to open them).")] = None,
    geff: Annotated[Optional[Path], typer.Option(
        exists=True, help="Tracks file or folder (any format cellbench reads, with the read options below): write it "
        "as a geff graph (a zarr folder; needs the optional package geff: pip install geff).")] = None,
    out: Annotated[Optional[Path], typer.Option(
        help="Where to write: a folder for --napari (default RUN_DIR-napari beside the run), the .geff folder for "
             "--geff (default FILE.geff beside the file).")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace what OUT holds (for --napari, only files an export "
                                                 "writes).")] = False,
    read: ReadOptions | None = None,
):
    """Export a run for napari (--napari RUN_DIR) or a tracks file as a geff graph (--geff FILE)."""
    from cellbench.data.readers.options import ReadOptions

    if (napari is None) == (geff is None):
        raise ConfigError("give one of --napari RUN_DIR and --geff FILE")
    if napari is not None:
        if read != ReadOptions():
            raise ConfigError("--napari reads the run folder's own files: the tracks read options (--pixel-um, "
                              "--columns, --format, ...) apply to --geff FILE only")
        from cellbench.evaluation.napari_export import export_napari

        target = out or napari.with_name(f"{napari.name}-napari")
        written = export_napari(napari, target, overwrite=overwrite)
        console.print(f"wrote {target}/ ({', '.join(p.name for p in written)}); open them in napari with the lines "
                      f"under open_in_napari in {target / 'napari.json'}")
        return
    from cellbench.data.readers import read_with
    from cellbench.data.readers.geff import write_geff

    tracks = read_with(geff, read)
    target = out or geff.with_name(f"{geff.stem}.geff")
    if target.exists() and not overwrite:
        raise ConfigError(f"--out {target}: exists; pass --overwrite to replace it")
    write_geff(tracks, target, overwrite=overwrite)
    console.print(f"wrote {target} ({tracks.n_rows} spots, {len(tracks.track_ids)} tracks; positions in um, t in "
                  f"frames)")
