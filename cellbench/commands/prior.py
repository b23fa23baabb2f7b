"""``cellbench prior``: estimate the physical prior c(r) of a tracks file or a simulator preset."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from cellbench.commands.options import with_read_options
from cellbench.errors import ConfigError
from cellbench.commands.console import console

if TYPE_CHECKING:
    from cellbench.data.readers.options import ReadOptions


@with_read_options
def prior(
    tracks: Annotated[Optional[Path], typer.Option(help="Tracks file (TrackMate CSV/XML, CTC folder, parquet).")] = None,
    preset: Annotated[Optional[str], typer.Option(help="Simulator preset to simulate and estimate (with its truth).")] = None,
    frames: Annotated[Optional[int], typer.Option(min=1, help="Use only the first M frames (the training block).")] = None,
    out: Annotated[Path, typer.Option(help="Folder for prior.json and prior.png.")] = Path("prior"),
    window: Annotated[str, typer.Option(help="Field of view: auto, periodic, box, disk, or frame (a box fitted to each frame).")] = "auto",
    reference: Annotated[str, typer.Option(help="Truth for simulated data: mc (independent Monte Carlo), py, none.")] = "mc",
    seed: Annotated[int, typer.Option(help="Seed of the simulation, the reference run and the null.")] = 0,
    read: ReadOptions | None = None,
):
    """Estimate S(k), C(k) and c(r) from the frames of TRACKS or PRESET and write prior.json, prior.png.

    Give exactly one of --tracks and --preset. On simulated data the truth (an independent Monte
    Carlo run of the same potential, or PY) and the recovery errors are written too; on any data a
    uniform-random null with the same window and cells per frame tells whether c(r) stands out, and
    checks (negative S(k), C(k) at its clamp, too few cells or pairs, a noisy null) print warnings,
    written to prior.json and prior.png too, with what to change.
    """
    from cellbench.prior.quality import frames_hint
    from cellbench.runs.prior_report import first_frames, report_lines, run_prior

    if (tracks is None) == (preset is None):
        raise ConfigError("give exactly one of --tracks FILE and --preset NAME")
    if reference not in ("mc", "py", "none"):
        raise ConfigError(f"--reference {reference!r} is unknown; choose mc, py or none")
    meta = None
    if preset is not None:
        try:
            import cellbench.sim
        except ImportError as err:
            raise ConfigError(f"--preset needs the simulators package ({err})") from err
        console.print(f"simulating {preset} (seed {seed}) ...")
        sim = cellbench.sim.simulate(preset, seed)
        data, meta = sim.tracks, sim.meta
    else:
        from cellbench.data.readers import read_with

        data = read_with(tracks, read)
    hint = frames_hint(data.cells_per_frame(), frames)
    data = first_frames(data, frames)
    result = run_prior(data, out, meta=meta, window=window, reference=reference, seed=seed, hint=hint)
    p = result.prior
    console.print(f"rho = {p.rho_per_um2:.5g} /um^2, r_cut = {p.r_cut_um:.4g} um, "
                  f"window = {p.hyperparameters['window']['kind']}, frames = {p.diagnostics['n_frames']}")
    for line in report_lines(result):
        console.print(line, style="yellow" if result.extra.get("warnings") else None, markup=False)
    for name, errs in result.extra.get("errors", {}).items():
        console.print(f"{name}: " + ", ".join(f"{k} = {v:.4g}" for k, v in errs.items()))
    console.print(f"wrote {result.json_path} and {result.png_path}")
