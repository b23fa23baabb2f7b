"""``cellbench data list`` and ``cellbench data fetch NAME``: public datasets in the data folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cellbench.commands.console import console
from cellbench.data.location import DATA_ENV, data_dir

app = typer.Typer(no_args_is_help=True, help="List and fetch public tracking datasets (Cell Tracking Challenge).")

DATA_DIR_HELP = (f"Data folder in which data:NAME datasets are looked up (and fetched to). Default: ${DATA_ENV}, "
                 "else ~/.cache/cellbench/data.")
"""Help of every --data-dir option."""
CHECKSUM_NOTE = ("checksum: 'pinned' = every download is verified against the registry's sha256; 'first-use' = no "
                 "published sha256: the first download is trusted and recorded in <data folder>/"
                 "cellbench-data.lock.json ('recorded'), later ones are verified against that record")


@app.command("list")
def list_datasets(
    data_dir_option: Annotated[Optional[Path], typer.Option("--data-dir", help=DATA_DIR_HELP)] = None,
):
    """List the datasets `cellbench data fetch` knows, with units, checksum state and what the data folder holds."""
    from rich.table import Table

    from cellbench.data.remote import load_registry, parquet_path
    from cellbench.data.remote.lock import read_lock

    root, origin = data_dir(data_dir_option)
    locked = read_lock(root) if root.is_dir() else {}
    table = Table(title=f"public datasets (data folder {root}, from {origin})", caption=CHECKSUM_NOTE,
                  caption_justify="left")
    for col in ("name", "sequences", "pixel (um)", "frame interval (s)", "archive", "checksum", "fetched",
                "description"):
        table.add_column(col, justify="right" if col in ("pixel (um)", "frame interval (s)") else "left")
    for name, d in sorted(load_registry().items()):
        checksum = "pinned" if d.pinned else "first-use" + (" (recorded)" if name in locked else "")
        fetched = [s for s in d.sequences if parquet_path(root, name, s).exists()]
        table.add_row(name, ", ".join(d.sequences), f"{d.pixel_um:g}", f"{d.frame_interval_s:g}",
                      d.approx_size or "?", checksum, ", ".join(fetched) or "-", d.description)
    console.print(table)


@app.command()
def fetch(
    name: Annotated[str, typer.Argument(help="Dataset name, as `cellbench data list` shows it (e.g. BF-C2DL-HSC).")],
    dest: Annotated[Optional[Path], typer.Option("--dest", "--data-dir", help=DATA_DIR_HELP)] = None,
    sequence: Annotated[str, typer.Option(help="Which sequence to convert: '01', '02', ... or 'all'.")] = "all",
    retries: Annotated[int, typer.Option(min=0, help="Resume a dropped download this many times before giving up.")] = 3,
    timeout_s: Annotated[float, typer.Option(min=1.0, help="Network timeout in s (connect and each read).")] = 60.0,
):
    """Download a public dataset and convert its ground-truth tracks to parquet.

    NAME's zip archive goes into the data folder (resumable; verified against the registry's sha256 or the lock
    file's record); each sequence's tracking markers (<SEQ>_GT/TRA) become <data>/NAME/NAME_<SEQ>.parquet in um
    and s, which sweeps and `run --data` name as data:NAME_<SEQ>.
    """
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    from cellbench.data.remote import fetch_dataset

    with Progress(TextColumn(f"downloading {name}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                  TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task("download", total=None)
        result = fetch_dataset(name, dest, sequence, retries=retries, timeout_s=timeout_s,
                               progress=lambda done, total: bar.update(task, completed=done, total=total))
    if result.warning:
        typer.echo(f"warning: {result.warning}", err=True)
    console.print(f"{result.archive} (sha256 {result.sha256}, checksum: {result.checksum})")
    for p in result.parquets:
        console.print(f"wrote {p}  (name it as data:{p.stem})")
