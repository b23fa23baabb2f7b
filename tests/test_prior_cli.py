"""``cellbench prior`` end to end on a small bundled-style sample, and on the real HSC data."""

from __future__ import annotations

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from cellbench.cli import app
from cellbench.io import read_json
from cellbench.prior import Prior, estimate_prior
from cellbench.prior.validation.reference_mc import MCConfig, run_mc
from cellbench.data.tracks import Tracks, TracksMeta

KEYS = ("k_inv_um", "S_k", "C_k", "r_um", "c_r", "rho_per_um2", "r_cut_um", "hyperparameters")


def _sample(tmp_path, n_frames=30):
    """A microscope-like field of view: the central 70% of a periodic WCA Monte Carlo box."""
    frames, L, _ = run_mc(MCConfig({"name": "wca", "sigma_um": 10.0, "epsilon_kT": 1.0}, 600, 0.004, 500, 10),
                          n_frames, seed=1)
    rows = []
    for t, f in enumerate(frames):
        ids = np.flatnonzero(np.all((f > 0.15 * L) & (f < 0.85 * L), axis=1))
        rows.append(pd.DataFrame({"track_id": ids, "frame": t, "x_um": f[ids, 0], "y_um": f[ids, 1]}))
    df = pd.concat(rows, ignore_index=True)
    path = tmp_path / "sample.parquet"
    Tracks.from_table(df, TracksMeta("sample")).save(path)
    return path


def test_cli_prior_on_tracks_file(tmp_path):
    path = _sample(tmp_path)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["prior", "--tracks", str(path), "--frames", "20", "--out", str(out)])
    assert res.exit_code == 0, res.output
    d = read_json(out / "prior.json")
    for key in KEYS:
        assert key in d
    assert (out / "prior.png").stat().st_size > 10_000
    assert d["diagnostics"]["n_frames"] == 20
    assert d["hyperparameters"]["window"]["kind"] == "box"  # no periodic metadata: the fitted field of view
    # a WCA fluid stands far above the uniform-random null (measured ratio ~30), and no check fails
    assert d["null"]["signal_to_null"] > 5
    assert d["warnings"] == [] and d["null"]["ratio_meaningful"] is True
    assert "NOT evidence" not in res.output and "warning:" not in res.output
    p = Prior.load(out / "prior.json")
    assert 9.0 < p.r_cut_um < 12.0  # sigma = 10 um: r_cut ~ 1.06 sigma


def test_cli_prior_needs_exactly_one_source(tmp_path):
    res = CliRunner().invoke(app, ["prior", "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "exactly one of --tracks" in res.output


def test_real_hsc_seq02(real_data_dir):
    """HSC seq 02: cells in microwells, ~30 per frame. The estimate must run and find the
    exclusion core (g(r) ~ 0 below ~7 um: cells of radius ~2.7 um do not overlap)."""
    from cellbench.data.readers import read_tracks

    tr = read_tracks(real_data_dir / "BF-C2DL-HSC_02_spots.csv")
    prior = estimate_prior(tr)
    g = np.asarray(prior.diagnostics["g_r"])
    r = prior.r_um
    assert np.mean(g[r < 5.0]) < 0.05  # measured 0.0: no pairs closer than 5 um
    assert 5.0 < prior.hyperparameters["r_core_um"] < 10.0  # measured 7.1 um
    # a growing colony fills a changing part of the image: one box per frame (frames >= 10 cells)
    per_frame = estimate_prior(tr, window="frame")
    assert per_frame.hyperparameters["frames_skipped"] > 0
    assert 5.0 < per_frame.hyperparameters["r_core_um"] < 11.0  # measured 8.9 um
