"""``cellbench compare``: several models over several training seeds on one dataset, in one table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from cellbench.commands.data import DATA_DIR_HELP
from cellbench.commands.options import DEVICE_HELP, device_option, with_read_options

if TYPE_CHECKING:
    from cellbench.data.readers.options import ReadOptions

PLUGIN_HELP = ("Module (package.module, looked up on the Python path and in the current folder) or .py file whose "
               "import registers models of your own (cellbench.register); repeatable.")
"""Help of every --plugin option."""


@with_read_options
def compare(
    data: Annotated[Optional[list[str]], typer.Option(
        help="Simulator preset name (e.g. 'default') or tracks file (TrackMate CSV/XML, CTC folder, parquet), or "
             "data:NAME (a dataset in the data folder); repeat for several sequences in one run. Default: 'default'.")] = None,
    models: Annotated[str, typer.Option(help="Models to compare, comma-separated (see `cellbench run --help`); zero, "
                                        "const-velocity and AR (and on simulated data the oracles) stand beside "
                                        "them.")] = "ar,transformer,physattn",
    seeds: Annotated[int, typer.Option(min=1, help="Training seeds 0..N-1 per model (weights and batching); "
                                       "intervals need >= 2.")] = 3,
    epochs: Annotated[Optional[int], typer.Option(min=1, help="Learned models: maximum training epochs (default: "
                                                  "each model's own).")] = None,
    plugin: Annotated[Optional[list[str]], typer.Option(help=PLUGIN_HELP)] = None,
    pair: Annotated[Optional[list[str]], typer.Option(help="Also report the paired difference A - B, given as A:B; "
                    "repeatable (physattn:transformer and every model against ar are reported anyway).")] = None,
    data_dir: Annotated[Optional[Path], typer.Option(help=DATA_DIR_HELP)] = None,
    split: Annotated[str, typer.Option(help="'time': contiguous 70/15/15% frame blocks per sequence; 'sequence': "
                     "leave the last sequence out.")] = "time",
    filtered_oracle: Annotated[bool, typer.Option(help="On active simulated data also score the filtered oracle.")] = True,
    device: Annotated[str, typer.Option(callback=device_option, help=DEVICE_HELP)] = "auto",
    out: Annotated[Optional[Path], typer.Option(file_okay=False, help="Output folder: compare.md, compare.csv, "
                   "compare.png and results/ (one JSON per run; finished runs are skipped when rerun into the same "
                   "folder). Default: compare/DATASET.")] = None,
    read: ReadOptions | None = None,
):
    """Train and score every model of --models with --seeds training seeds on DATA, here, one run after another
    (no Dask), and print one table: R2, RMSE (um) and skill vs zero as mean ± 95% interval over seeds beside
    zero, const-velocity and AR (and the oracles on simulated data), paired differences between models over the
    same seeds, and whether the physics prior (physattn vs transformer) helps on these data."""
    from cellbench.commands.console import console
    from cellbench.commands.sweep import runs_progress
    from cellbench.data.location import resolve_data_arg
    from cellbench.leaderboard.compare_table import compare as run_compare
    from cellbench.runs.compare import CompareConfig, parse_models, parse_pair
    from cellbench.runs.pipeline import DEFAULT_DATA

    items = tuple(resolve_data_arg(item, data_dir) for item in (data or [DEFAULT_DATA]))
    cfg = CompareConfig(data=items, models=parse_models(models), seeds=seeds, epochs=epochs,
                        plugins=tuple(plugin or ()), pixel_um=read.pixel_um, read_options=read.beyond_pixel_um(),
                        split=split, filtered_oracle=filtered_oracle,
                        pairs=tuple(parse_pair(p) for p in pair or ()))
    with runs_progress() as progress:
        result = run_compare(cfg, out, progress=progress, device=device)
    for line in result.failed:
        typer.echo(f"warning: run failed (left out of the table; rerun to retry): {line}", err=True)
    console.print(f"{result.dataset}: test split, displacements in um per frame", markup=False, highlight=False)
    console.print(result.table, markup=False, highlight=False)
    console.print(result.sentence, markup=False, highlight=False)
    console.print(f"wrote {', '.join(str(p) for p in result.files)}", markup=False, highlight=False)
