"""``cellbench simulate``: run a simulator preset and write tracks, truth, pairs, GSD and PNGs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from cellbench.errors import ConfigError


def parse_sets(items: list[str] | None) -> dict[str, str]:
    """``["key=value", ...]`` -> ``{key: value}``; a malformed item raises ConfigError."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected key=value (e.g. --set v0_um_per_s=0.5)")
        out[key.strip()] = value.strip()
    return out


def simulate(
    preset: Annotated[str, typer.Option(help="Preset name (see --list).")] = "default",
    seed: Annotated[int, typer.Option(min=0, help="Random seed; same seed and options give identical bytes.")] = 0,
    out: Annotated[Optional[Path], typer.Option(file_okay=False, help="Output folder (created).")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a parameter: key=value "
                    "(config fields with units in the name, or potential.<param>). Repeatable.")] = None,
    threads: Annotated[Optional[int], typer.Option(min=1, help="Numba threads (results do not depend on it).")] = None,
    list_: Annotated[bool, typer.Option("--list", help="Print the presets with one line of physics each.")] = False,
) -> None:
    """Simulate PRESET with SEED and write tracks.parquet, truth.parquet, pairs.parquet, meta.json,
    trajectory.gsd, snapshot.png and msd.png under OUT."""
    import simulators
    from simulators.presets import describe

    if list_:
        width = max(map(len, simulators.PRESETS))
        for name in simulators.PRESETS:
            typer.echo(f"{name:<{width}}  {describe(name)}")
        return
    if out is None:
        raise ConfigError("--out is required (the folder to write the run into)")
    overrides = parse_sets(set_)
    # validate preset, keys and values before spending time on numba
    simulators.engine.resolve_config(preset, overrides)
    if threads is not None:
        import numba

        if threads > numba.config.NUMBA_NUM_THREADS:
            raise ConfigError(f"--threads {threads}: at most {numba.config.NUMBA_NUM_THREADS} on this machine")
        numba.set_num_threads(threads)

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    t0 = time.perf_counter()
    with Progress(TextColumn(f"simulating {preset}"), BarColumn(), MofNCompleteColumn(), TextColumn("frames"),
                  TimeElapsedColumn(), TimeRemainingColumn()) as bar:
        task = bar.add_task("frames", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = simulators.simulate(preset, seed, overrides, progress=progress)
    secs = time.perf_counter() - t0
    simulators.write_run(result, out)
    n = result.tracks.cells_per_frame()
    typer.echo(f"wrote {out} ({result.tracks.n_rows} spots, {len(result.tracks.track_ids)} tracks, "
               f"{n.iloc[0]}-{n.iloc[-1]} cells per frame, {len(result.pairs)} pairs; simulated in {secs:.1f} s)")
