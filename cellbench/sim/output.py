"""Writing, reading and caching simulated runs.

A run folder holds ``tracks.parquet`` (the canonical Tracks table, what models see),
``truth.parquet`` (row-aligned ground truth), ``pairs.parquet`` (observed pairs and their true
forces), ``meta.json`` (every parameter), ``trajectory.gsd`` (HOOMD schema, opens in OVITO and
freud) and two PNGs (``snapshot.png``, ``msd.png``). Every file is written atomically and
``meta.json`` last, so a folder with a ``meta.json`` is complete.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from cellbench.io import read_json, write_atomic, write_atomic_with, write_json
from cellbench.data.tracks import Tracks
from cellbench.sim.engine import SimResult, config_hash, resolve_config
from cellbench.sim.variants import file_stem


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    write_atomic_with(path, lambda tmp: df.to_parquet(tmp, index=False, engine="pyarrow"))


def write_gsd(result: SimResult, path: Path) -> None:
    """One GSD frame per recorded frame: observed cells, orientation as a quaternion about z,
    diameter 2*radius, and ``log['particles/track_id']``. The box is centred on the origin
    (HOOMD convention): positions are shifted by the centre of the box or of the well."""
    import gsd.hoomd

    meta = result.meta
    if "box_um" in meta:
        side = float(meta["box_um"])
        centre = np.array([side / 2, side / 2])
        box = [side, side, 0.0, 0.0, 0.0, 0.0]
    else:
        fov = meta["fov_um"]
        side = 2 * max(float(meta["well_radius_um"]), *np.abs(fov)) + 2 * 2 * float(meta["radius_um"])
        centre = np.zeros(2)
        box = [side, side, 0.0, 0.0, 0.0, 0.0]
    df = result.tracks.df
    theta = result.truth["theta"].to_numpy()
    frames = df["frame"].to_numpy()
    bounds = np.searchsorted(frames, np.arange(int(meta["n_frames"]) + 1))

    def writer(tmp: Path) -> None:
        with gsd.hoomd.open(str(tmp), "w") as traj:
            for f in range(int(meta["n_frames"])):
                sl = slice(bounds[f], bounds[f + 1])
                n = bounds[f + 1] - bounds[f]
                fr = gsd.hoomd.Frame()
                fr.configuration.step = f * int(meta["record_every"])
                fr.configuration.dimensions = 2
                fr.configuration.box = box
                fr.particles.N = int(n)
                fr.particles.types = ["cell"]
                fr.particles.typeid = np.zeros(n, np.uint32)
                pos = np.zeros((n, 3), np.float32)
                pos[:, 0] = df["x_um"].to_numpy()[sl] - centre[0]
                pos[:, 1] = df["y_um"].to_numpy()[sl] - centre[1]
                fr.particles.position = pos
                q = np.zeros((n, 4), np.float32)
                q[:, 0] = np.cos(theta[sl] / 2)
                q[:, 3] = np.sin(theta[sl] / 2)
                fr.particles.orientation = q
                fr.particles.diameter = (2 * df["radius_um"].to_numpy()[sl]).astype(np.float32)
                fr.log["particles/track_id"] = df["track_id"].to_numpy()[sl].astype(np.int64)
                traj.append(fr)

    write_atomic_with(Path(path), writer)


def _pyplot():
    """``matplotlib.pyplot`` on the Agg backend (sim/ sits below evaluation/figures.py: its own two lines)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png_bytes(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return buf.getvalue()


def snapshot_figure(result: SimResult):
    """The last frame: cells coloured by orientation, the field of view and the box or well; the
    legend under the axes (never over the cells)."""
    from matplotlib.collections import EllipseCollection
    from matplotlib.patches import Circle, Rectangle

    meta = result.meta
    df = result.tracks.df
    last = df["frame"].max()
    sel = (df["frame"] == last).to_numpy()
    fig, ax = _pyplot().subplots(figsize=(5.5, 5.6), layout="constrained")
    d = 2 * df["radius_um"].to_numpy()[sel]
    ec = EllipseCollection(d, d, np.zeros_like(d), units="xy", offsets=df[["x_um", "y_um"]].to_numpy()[sel],
                           offset_transform=ax.transData, cmap="twilight", array=np.mod(result.truth["theta"].to_numpy()[sel], 2 * np.pi),
                           edgecolor="k", linewidth=0.2)
    ec.set_clim(0, 2 * np.pi)
    ax.add_collection(ec)
    fov = meta["fov_um"]
    ax.add_patch(Rectangle((fov[0], fov[1]), fov[2] - fov[0], fov[3] - fov[1], fill=False, ls="--", color="C1",
                           label="field of view"))
    if "well_radius_um" in meta:
        ax.add_patch(Circle((0, 0), meta["well_radius_um"], fill=False, color="C0", label="microwell"))
        lim = (-meta["well_radius_um"] * 1.1, meta["well_radius_um"] * 1.1)
        lim = (min(lim[0], fov[0]), max(lim[1], fov[2]))
        ax.set_xlim(lim)
        ax.set_ylim(lim)
    else:
        ax.add_patch(Rectangle((0, 0), meta["box_um"], meta["box_um"], fill=False, color="C0", label="periodic box"))
        ax.set_xlim(-0.02 * meta["box_um"], 1.02 * meta["box_um"])
        ax.set_ylim(-0.02 * meta["box_um"], 1.02 * meta["box_um"])
    ax.set_aspect("equal")
    ax.set_xlabel("x (um)")
    ax.set_ylabel("y (um)")
    ax.set_title(f"{meta['preset'] or 'custom'}, frame {last}, {int(sel.sum())} cells, colour = orientation",
                 fontsize=9, wrap=True)
    fig.colorbar(ec, ax=ax, label="orientation theta (rad)", shrink=0.8)
    fig.legend(loc="outside lower center", ncols=2, fontsize=7, frameon=False)
    return fig


def msd_figure(result: SimResult):
    """MSD of the observed tracks (um^2) against the free-ABP formula, lag in s; legend under the axes."""
    from cellbench.sim.analysis import abp_msd_theory, msd

    meta = result.meta
    n_frames = int(meta["n_frames"])
    lags = np.unique(np.geomspace(1, max(1, n_frames // 2), 20).astype(int))
    tau = float(meta["frame_interval_s"])
    fig, ax = _pyplot().subplots(figsize=(5, 4.4), layout="constrained")
    ax.loglog(lags * tau, msd(result.truth, lags), "o", label="simulated (observed tracks)")
    t = np.geomspace(lags[0] * tau, lags[-1] * tau, 100)
    ax.loglog(t, abp_msd_theory(t, meta["v0_um_per_s"], meta["D_t_um2_per_s"], meta["D_r_per_s"]), "-",
              label="free ABP: 4 D_t t + 2 v0^2/D_r^2 (D_r t + e^{-D_r t} - 1)")
    ax.set_xlabel("lag t (s)")
    ax.set_ylabel("MSD (um^2)")
    ax.set_title(f"{meta['preset'] or 'custom'}: MSD vs non-interacting theory", fontsize=9, wrap=True)
    fig.legend(loc="outside lower center", ncols=1, fontsize=7, frameon=False)
    return fig


def write_pngs(result: SimResult, out_dir: Path) -> None:
    """``snapshot.png`` (:func:`snapshot_figure`) and ``msd.png`` (:func:`msd_figure`)."""
    for name, make in (("snapshot.png", snapshot_figure), ("msd.png", msd_figure)):
        fig = make(result)
        write_atomic(out_dir / name, _png_bytes(fig))
        _pyplot().close(fig)


def write_run(result: SimResult, out_dir: Path) -> Path:
    """Write every file of a run into ``out_dir`` (created), atomically; ``meta.json`` last."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result.tracks.save(out_dir / "tracks.parquet")
    _write_parquet(result.truth, out_dir / "truth.parquet")
    _write_parquet(result.pairs, out_dir / "pairs.parquet")
    write_gsd(result, out_dir / "trajectory.gsd")
    write_pngs(result, out_dir)
    write_json(out_dir / "meta.json", result.meta)
    return out_dir


def load_run(run_dir: Path) -> SimResult:
    """Read a folder written by :func:`write_run`."""
    run_dir = Path(run_dir)
    tracks = Tracks.load(run_dir / "tracks.parquet")
    truth = pd.read_parquet(run_dir / "truth.parquet")
    pairs = pd.read_parquet(run_dir / "pairs.parquet")
    meta = read_json(run_dir / "meta.json")
    return SimResult(tracks=tracks, truth=truth, pairs=pairs, meta=meta)


def cache_root() -> Path:
    """``$CELLBENCH_CACHE/sim`` if the variable is set, else ``~/.cache/cellbench/sim``."""
    env = os.environ.get("CELLBENCH_CACHE")
    base = Path(env).expanduser() if env else Path.home() / ".cache" / "cellbench"
    return base / "sim"


def cached_dataset(preset: str, seed: int = 0, cache_dir: Path | None = None) -> Path:
    """The folder of ``preset`` simulated with ``seed``, generated on first use.

    The folder is ``<cache_dir or cache_root()>/<preset>-seed<seed>-<hash>`` where the hash
    covers the config, the seed and the package versions; a run is written to a temporary
    sibling and renamed into place, so concurrent callers never see half a dataset.
    """
    from cellbench.sim.engine import simulate

    name, cfg = resolve_config(preset)
    root = Path(cache_dir) if cache_dir is not None else cache_root()
    folder = root / f"{file_stem(name)}-seed{seed}-{config_hash(name, cfg, seed)}"
    if (folder / "meta.json").exists():
        return folder
    tmp = root / f".{folder.name}.{os.getpid()}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)
    try:
        write_run(simulate(name, seed), tmp)
        try:
            os.replace(tmp, folder)
        except OSError:
            if not (folder / "meta.json").exists():  # someone else's half folder: replace it
                shutil.rmtree(folder, ignore_errors=True)
                os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder
