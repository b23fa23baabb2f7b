"""``cellbench tune``: the same random-search budget for a learned model, judged on the validation block."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.table import Table

from cellbench.commands.console import console
from cellbench.commands.options import with_read_options
from cellbench.io import write_json

if TYPE_CHECKING:
    from cellbench.data.readers.options import ReadOptions


@with_read_options
def tune(
    model: Annotated[str, typer.Option(help="A learned model's registry name (cellbench run --help lists them).")],
    data: Annotated[str, typer.Option(help="Simulator preset name or tracks file; tuned on its validation block.")] = "default",
    trials: Annotated[int, typer.Option(min=1, help="Budget: settings tried (trial 0 = the registry defaults); "
                                                    "use the same number for every model.")] = 8,
    seed: Annotated[int, typer.Option(help="Seed of the draws and of every fit.")] = 0,
    sim_seed: Annotated[int, typer.Option(help="Seed of the simulated dataset (with a preset).")] = 0,
    epochs: Annotated[Optional[int], typer.Option(min=1, help="Epoch cap of every trial (default: the loop's).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="JSON file of every trial and the chosen options "
                                                     "(default tuning/MODEL-DATA.json).")] = None,
    read: ReadOptions | None = None,
):
    """Train MODEL with TRIALS settings drawn by one seeded random search (the same space and budget for every
    learned model; the prior's gamma and eta_max too for physattn), score each by validation RMSE (um),
    print the table and write the chosen options as JSON (pass them to sweeps as [models.MODEL] options)."""
    from cellbench.runs.pipeline import RunConfig, load_data
    from cellbench.runs.tuning import tune as run_tune

    dataset = load_data(RunConfig(model=model, data=(data,), sim_seed=sim_seed, pixel_um=read.pixel_um,
                                  read_options=read.beyond_pixel_um()))
    with console.status(f"tuning {model} on {dataset.name}") as status:
        result = run_tune(model, dataset, trials=trials, seed=seed, epochs=epochs,
                          progress=lambda i, n: status.update(f"tuning {model} on {dataset.name}: trial {i}/{n} done"))
    summary = result.to_dict()
    table = Table(title=f"{model} on {dataset.name}: validation RMSE (um per frame), {trials} trials, seed {seed}")
    for col in ("trial", "options", "val RMSE (um)", "best epoch / run", "s"):
        table.add_column(col, justify="left" if col == "options" else "right")
    for i, t in enumerate(summary["trials"]):
        mark = " *" if i == summary["best_trial"] else ""
        table.add_row(f"{i}{mark}", ", ".join(f"{k}={v}" for k, v in t["options"].items()) or "(defaults)",
                      f"{t['val_rmse_um']:.4g}", f"{t['best_epoch'] + 1} / {t['epochs_run']}", f"{t['seconds']:.0f}")
    console.print(table)
    path = out or Path("tuning") / f"{model}-{Path(data).stem}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, summary)
    console.print(f"chosen: {summary['best_options'] or '(defaults)'}; the epoch cap bound in "
                  f"{summary['cap_bound_trials']} of {trials} trials; wrote {path}")
