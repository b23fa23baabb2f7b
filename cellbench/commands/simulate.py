"""``cellbench simulate``: run a simulator preset and write tracks, truth, pairs, GSD and PNGs.

``--preset`` takes a preset name or a TOML preset file (:mod:`cellbench.sim.preset_file`).
``--like FILE`` fits a preset to a tracks file (:func:`cellbench.simfit.fit_preset`), writes it as
``preset.toml``, simulates it into ``sim/`` and writes ``fit.md``, ``fit.png`` and ``fit.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from cellbench.commands.options import with_read_options
from cellbench.errors import ConfigError
from cellbench.outdir import RunKind, claim_out_dir

if TYPE_CHECKING:
    from cellbench.data.readers.options import ReadOptions


SIM_RUN = RunKind(frozenset({"tracks.parquet", "truth.parquet", "pairs.parquet", "meta.json", "trajectory.gsd",
                             "snapshot.png", "msd.png"}), identity="meta.json")
"""What ``cellbench simulate`` writes; ``meta.json`` (config and seed) identifies the run."""
LIKE_RUN = RunKind(frozenset({"preset.toml", "sim", "fit.md", "fit.png", "fit.json"}), identity="fit.json")
"""What ``cellbench simulate --like`` writes."""


def _same_simulation(meta_path: Path, cfg, seed: int) -> bool:
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    return meta.get("seed") == seed and meta.get("config") == json.loads(json.dumps(cfg.to_dict()))


def parse_sets(items: list[str] | None) -> dict[str, str]:
    """``["key=value", ...]`` -> ``{key: value}``; a malformed item raises ConfigError."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected key=value (e.g. --set v0_um_per_s=0.5)")
        out[key.strip()] = value.strip()
    return out


def _run_with_progress(label: str, cfg_or_name, seed: int, overrides: dict | None, allow_large: bool = False):
    import cellbench.sim
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
    from rich.markup import escape  # variant names hold brackets: default[n_frames=100]

    with Progress(TextColumn(escape(f"simulating {label}")), BarColumn(), MofNCompleteColumn(), TextColumn("frames"),
                  TimeElapsedColumn(), TimeRemainingColumn()) as bar:
        task = bar.add_task("frames", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return cellbench.sim.simulate(cfg_or_name, seed, overrides, progress=progress, allow_large=allow_large)


def simulate_like(like: Path, out: Path, seed: int, max_lag_frames: int, corrections: int,
                  read: ReadOptions | None = None) -> dict:
    """Fit a preset to the tracks file ``like`` and simulate it; write everything under ``out``.

    ``out/preset.toml`` (the fitted SimConfig, with a ``[fit]`` table of every fitted number),
    ``out/sim/`` (the simulation run, as ``cellbench simulate`` writes it), ``out/fit.md``,
    ``out/fit.png`` and ``out/fit.json`` (real vs simulated statistics). Returns the comparison.
    """
    import cellbench.sim
    from cellbench.simfit import fit_preset
    from cellbench.simfit.report import write_report
    from cellbench.simfit.summary import summarize_tracks
    from cellbench.data.readers import read_with
    from cellbench.sim.preset_file import write_preset

    real_tracks = read_with(like, read)
    if real_tracks.meta.source_path is None:  # e.g. a parquet saved from a simulation: errors name the file given
        import dataclasses

        from cellbench.data.tracks import Tracks

        real_tracks = Tracks(real_tracks.df, dataclasses.replace(real_tracks.meta, source_path=str(like)))
    typer.echo(f"fitting a preset to {like} ({real_tracks.n_rows} spots, {len(real_tracks.track_ids)} tracks)")
    fit = fit_preset(real_tracks, max_lag_frames=max_lag_frames, n_corrections=corrections, seed=seed)
    preset_path = out / "preset.toml"
    write_preset(fit.config, preset_path, fit={k: v for k, v in fit.stats.items() if v is not None},
                 header=f"cellbench simulator preset fitted to {fit.stats['source']}\n"
                        f"by cellbench simulate --like (seed {seed}); simulate it with --preset {preset_path}")
    result = _run_with_progress(fit.stats["dataset"], fit.config, seed, None)
    sim_dir = out / "sim"
    cellbench.sim.write_run(result, sim_dir)
    real = summarize_tracks(real_tracks, max_lag_frames)
    sim = summarize_tracks(result.tracks, max_lag_frames)
    return write_report(out, fit, real, sim, str(sim_dir), str(preset_path), seed)


@with_read_options
def simulate(
    preset: Annotated[str, typer.Option(help="Preset name (see --list) or a TOML preset file (e.g. one written "
                                             "by --like).")] = "default",
    like: Annotated[Optional[Path], typer.Option(dir_okay=True, help="Fit a preset to this tracks file (any format "
                    "cellbench reads), write OUT/preset.toml, simulate it into OUT/sim and write OUT/fit.md + fit.png. "
                    "Replaces --preset.")] = None,
    max_lag_frames: Annotated[int, typer.Option(min=4, help="--like: largest MSD lag fitted, frames.")] = 20,
    corrections: Annotated[int, typer.Option(min=0, help="--like: simulation-based corrections of v0 and D_t "
                           "(0: free-ABP formula only).")] = 5,
    seed: Annotated[int, typer.Option(min=0, help="Random seed; same seed and options give identical bytes.")] = 0,
    out: Annotated[Optional[Path], typer.Option(file_okay=False, help="Output folder (created).")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a parameter: key=value "
                    "(config fields with units in the name, or potential.<param>). Repeatable.")] = None,
    threads: Annotated[Optional[int], typer.Option(min=1, help="Numba threads (results do not depend on it). On a dedicated machine also export OMP_WAIT_POLICY=ACTIVE: 2 threads then run 1.86x faster than 1, against 1.47x with the default PASSIVE (idle threads sleep, kind to shared machines).")] = None,
    list_: Annotated[bool, typer.Option("--list", help="Print the presets with one line of physics each.")] = False,
    overwrite: Annotated[bool, typer.Option(help="OUT holds another run: remove that run's files first (other files "
                         "are left alone). Without it such a folder is refused; the same run is rewritten in place.")] = False,
    allow_large: Annotated[bool, typer.Option(help="Run a simulation over the size limits (3e10 particle-steps, "
                           "8 GiB of memory; see cellbench.sim.budget) instead of refusing it.")] = False,
    read: ReadOptions | None = None,
) -> None:
    """Simulate PRESET with SEED and write tracks.parquet, truth.parquet, pairs.parquet, meta.json,
    trajectory.gsd, snapshot.png and msd.png under OUT; or, with --like FILE, fit a preset to FILE first."""
    import cellbench.sim
    from cellbench.sim.budget import check_size
    from cellbench.sim.preset_file import is_preset_path, read_preset
    from cellbench.sim.presets import describe

    if list_:
        width = max(map(len, cellbench.sim.PRESETS))
        for name in cellbench.sim.PRESETS:
            typer.echo(f"{name:<{width}}  {describe(name)}")
        return
    if out is None:
        raise ConfigError("--out is required (the folder to write the run into)")
    overrides = parse_sets(set_)
    from cellbench.data.readers.options import ReadOptions

    if read != ReadOptions() and like is None:
        raise ConfigError("--pixel-um, --position-units, --frame-interval-s, --columns, --format and --drop-z apply "
                          "to --like FILE only (a simulation is in um already)")
    if like is not None and (preset != "default" or overrides):
        raise ConfigError("--like fits the preset to a file: leave out --preset and --set (edit the written "
                          "preset.toml and rerun with --preset OUT/preset.toml instead)")
    if threads is not None:
        import numba

        if threads > numba.config.NUMBA_NUM_THREADS:
            raise ConfigError(f"--threads {threads}: at most {numba.config.NUMBA_NUM_THREADS} on this machine")
        numba.set_num_threads(threads)
    if like is not None:
        claim_out_dir(out, LIKE_RUN, lambda _: False, overwrite)
        t0 = time.perf_counter()
        cmp = simulate_like(like, out, seed, max_lag_frames, corrections, read)
        typer.echo(f"wrote {out}/preset.toml, {out}/sim, {out}/fit.md, {out}/fit.png (max MSD misfit lags "
                   f"1-{cmp['lags_frames'][-1]}: {cmp['msd_max_abs_rel_error']:.1%}, lag-1 autocorrelation "
                   f"{cmp['lag1_autocorr_real']:+.3f} real vs {cmp['lag1_autocorr_sim']:+.3f} simulated; "
                   f"{time.perf_counter() - t0:.1f} s)")
        return
    source = read_preset(Path(preset)) if is_preset_path(preset) else preset
    # validate preset, keys and values before spending time on numba
    _, cfg = cellbench.sim.engine.resolve_config(source, overrides)
    check_size(cfg, allow_large)  # refuse before allocating anything
    claim_out_dir(out, SIM_RUN, lambda meta: _same_simulation(meta, cfg, seed), overwrite)

    t0 = time.perf_counter()
    result = _run_with_progress(preset, source, seed, overrides, allow_large)
    secs = time.perf_counter() - t0
    cellbench.sim.write_run(result, out)
    n = result.tracks.cells_per_frame()
    typer.echo(f"wrote {out} ({result.tracks.n_rows} spots, {len(result.tracks.track_ids)} tracks, "
               f"{n.iloc[0]}-{n.iloc[-1]} cells per frame, {len(result.pairs)} pairs; simulated in {secs:.1f} s)")
