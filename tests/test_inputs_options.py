"""The optional inputs of learned models (issue "A fair prior"): r-only edges, absolute position,
the prior's graph cutoff with its report, and wall features; every learned model trains with each."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import numpy.testing as npt
import pytest

import cellbench.sim
from cellbench.data.dataset import build_dataset
from cellbench.data.splits import frames_of
from cellbench.errors import ConfigError
from cellbench.inputs.batching import EDGE_DIM, FeatureOptions, TargetScaler, build_frames, node_feature_names
from cellbench.inputs.graphs import Boundaries, Disk, pairs_beyond_cut
from cellbench.prior import estimate_prior
from cellbench.train.build import build
from cellbench.train.learned import PAPER_SETTING, graph_report
from tests.helpers import random_walk_tracks, table

TINY = {"train": {"epochs": 1}, "hidden": 8}
OPTIONS = [{"edge_features": "r_only"}, {"absolute_position": True}, {"r_cut_rule": "prior"},
           {"wall_features": "on"}, PAPER_SETTING]


@pytest.fixture(scope="module")
def open_data():
    """The `default` preset shrunk to ~35 observed cells x 40 frames (open field of view)."""
    r = cellbench.sim.simulate("default", 1, overrides={"n_frames": 40, "box_um": 80.0, "n_cells": 40,
                                                        "fov_um": (5.0, 5.0, 75.0, 75.0)})
    return build_dataset([r.tracks], truths=[SimpleNamespace(meta=r.meta)])


@pytest.fixture(scope="module")
def well_data():
    """`microwell-hsc` shrunk to 30 cells in a 50-um well, 40 frames, no division."""
    r = cellbench.sim.simulate("microwell-hsc", 1, overrides={
        "n_frames": 40, "n_cells": 30, "well_radius_um": 50.0, "fov_um": (-60.0, -60.0, 60.0, 60.0),
        "division_rate_per_s": 0.0, "max_cells": 40})
    return build_dataset([r.tracks])


def _train(data):
    return [(s.tracks, frames_of(data.blocks, i, "train")) for i, s in enumerate(data.seqs)]


# -- r only -----------------------------------------------------------------------------------

def test_r_only_edges_are_one_column_of_distance_over_r_cut():
    data = build_dataset([random_walk_tracks(n_tracks=8, n_frames=20, box_um=30.0)])
    scaler = TargetScaler.fit(data)
    r_cut = 12.0
    rbf = build_frames(data, r_cut, scaler)[0]
    r_only = build_frames(data, r_cut, scaler, options=FeatureOptions("r_only"))[0]
    n_edges = 0
    for a, b in zip(rbf, r_only):
        assert a.edge_attr.shape[1] == EDGE_DIM and b.edge_attr.shape[1] == 1
        npt.assert_array_equal(a.edge_index.numpy(), b.edge_index.numpy())
        npt.assert_allclose(b.edge_attr.numpy()[:, 0], b.d_um / r_cut, rtol=1e-6)  # float32 storage
        npt.assert_array_equal(a.x.numpy(), b.x.numpy())  # node features untouched
        n_edges += len(b.d_um)
    assert n_edges > 0


# -- absolute position ------------------------------------------------------------------------

def test_absolute_position_lies_in_unit_square_and_ignores_test_positions(open_data):
    m1 = build("lstm", absolute_position=True, **TINY).fit(open_data, seed=0)
    tracks = open_data.seqs[0].tracks
    names = node_feature_names(2, "radius_um" in tracks.df.columns, absolute_position=True)
    assert m1.net_cfg.n_features == len(names)
    test_rows = np.flatnonzero(np.isin(tracks.df["frame"], frames_of(open_data.blocks, 0, "test")))
    df = tracks.df.copy()
    moved = test_rows[len(test_rows) // 2]
    df.loc[moved, ["x_um", "y_um"]] = [500.0, -300.0]  # far outside the training box
    data2 = build_dataset([tracks.with_df(df)])
    m2 = build("lstm", absolute_position=True, **TINY).fit(data2, seed=0)
    assert m1.features.position_bounds_um == m2.features.position_bounds_um
    train_pos = tracks.positions_um()[np.isin(tracks.df["frame"], frames_of(open_data.blocks, 0, "train"))]
    npt.assert_allclose(m1.features.position_bounds_um, [*train_pos.min(0), *train_pos.max(0)])

    cols = [names.index("x_scaled"), names.index("y_scaled")]
    pos1, pos2 = (np.full((tracks.n_rows, 2), np.nan) for _ in range(2))
    for m, d, pos in ((m1, open_data, pos1), (m2, data2, pos2)):
        for f, _ in m.rollout(d)[0]:
            pos[f.rows] = f.x.numpy()[:, cols]
    assert np.all((pos1 >= 0) & (pos1 <= 1)) and np.all((pos2 >= 0) & (pos2 <= 1))
    others = np.arange(tracks.n_rows) != moved
    npt.assert_array_equal(pos1[others], pos2[others])
    npt.assert_array_equal(pos2[moved], [1.0, 0.0])  # clipped


# -- wall features ----------------------------------------------------------------------------

def _well_table(radius_um: float = 10.0):
    """Three still cells in a microwell of radius 10 um centred on the origin, 12 frames."""
    rows = [(tid, f, x, y) for f in range(12) for tid, (x, y) in enumerate([(0.0, 0.0), (6.0, 8.0), (0.0, -4.0)], 1)]
    return table(rows, dataset="well", extra={"boundary": "microwell", "well_radius_um": radius_um})


def test_wall_features_know_the_answer_on_a_hand_made_microwell():
    data = build_dataset([_well_table()])
    r_cut = 5.0
    frames = build_frames(data, r_cut, TargetScaler.fit(data), options=FeatureOptions(walls=Boundaries()))[0]
    names = node_feature_names(2, False, walls=True)
    assert frames[0].x.shape[1] == len(names)
    wall = frames[0].x.numpy()[:, names.index("wall_distance_over_r_cut"):]
    # rows sorted by track: centre (distance R, no normal), on the rim (0, inward -(0.6, 0.8)), 4 um below
    npt.assert_allclose(wall, [[10 / r_cut, 0, 0], [0, -0.6, -0.8], [6 / r_cut, 0, 1]], atol=1e-6)


def test_wall_features_off_by_default_auto_on_for_microwells(well_data, open_data):
    off = build("lstm", **TINY).fit(well_data, seed=0)
    auto = build("lstm", wall_features="auto", **TINY).fit(well_data, seed=0)
    has_radius = "radius_um" in well_data.seqs[0].tracks.df.columns
    assert off.features.walls is None and off.net_cfg.n_features == len(node_feature_names(2, has_radius))
    assert auto.net_cfg.n_features == off.net_cfg.n_features + 3
    assert auto.config()["inputs"]["walls"]["fallback"] is None
    assert auto.features.walls.disk_for(well_data.seqs[0].tracks) == Disk((0.0, 0.0), 50.0,
                                                                          "microwell (simulation metadata)")
    assert build("lstm", wall_features="auto", **TINY).fit(open_data, seed=0).features.walls is None


def test_fitted_disk_uses_training_frames_only(open_data):
    tracks = open_data.seqs[0].tracks
    df = tracks.df.copy()
    test = np.isin(df["frame"], frames_of(open_data.blocks, 0, "test"))
    df.loc[test, "x_um"] += 400.0
    disks = [build("lstm", wall_features="on", **TINY).fit(d, seed=0).features.walls
             for d in (open_data, build_dataset([tracks.with_df(df)]))]
    assert disks[0] == disks[1]
    disk = disks[0].disk_for(tracks)
    assert disk.source == "disk fitted to the sequence's training frames"


# -- graph cutoff -----------------------------------------------------------------------------

def test_pairs_beyond_cut_on_a_hand_made_frame():
    # pairs at 5 um, 9 um and sqrt(106) = 10.3 um; interaction range 10, graph radius 6: 1 of 2 cut
    t = table([(1, 0, 0.0, 0.0), (2, 0, 5.0, 0.0), (3, 0, 0.0, 9.0)])
    assert pairs_beyond_cut([(t, np.array([0]))], 6.0, 10.0) == (2, 1)
    assert pairs_beyond_cut([(t, np.array([0]))], 9.5, 10.0) == (2, 0)


def test_graph_report_counts_interacting_pairs_beyond_the_cutoff():
    rows = [(tid, f, x, y) for f in range(20) for tid, (x, y) in enumerate([(0.0, 0.0), (5.0, 0.0), (0.0, 9.0)], 1)]
    data = build_dataset([table(rows)], truths=[SimpleNamespace(meta={"potential": {"r_cut_um": 10.0}})])
    report = graph_report(data, _train(data), 6.0, "nn")
    n_train = len(frames_of(data.blocks, 0, "train"))
    assert report["interacting_pairs"] == 2 * n_train and report["interacting_pairs_beyond_cut"] == n_train
    assert report["fraction_interacting_beyond_cut"] == 0.5
    no_truth = graph_report(build_dataset([table(rows)]), _train(data), 6.0, "nn")
    assert no_truth["fraction_interacting_beyond_cut"] is None and no_truth["r_cut_um"] == 6.0


def test_prior_rule_takes_the_prior_estimators_cutoff(open_data):
    m = build("lstm", r_cut_rule="prior", **TINY).fit(open_data, seed=0)
    tracks, frames = _train(open_data)[0]
    expected = estimate_prior([tracks.with_df(tracks.df[np.isin(tracks.df["frame"], frames)])]).r_cut_um
    assert m.r_cut_um == expected
    report = m.config()["graph_report"]
    assert report["rule"] == "prior" and report["r_cut_um"] == expected and report["potential_r_cut_um"] == 10.0
    assert 0.0 <= report["fraction_interacting_beyond_cut"] <= 1.0
    with pytest.raises(ConfigError, match="give one of them"):
        build("lstm", r_cut_um=10.0, r_cut_rule="prior")


def test_bad_option_values_name_the_choices():
    for opts in ({"edge_features": "rel"}, {"r_cut_rule": "auto"}, {"wall_features": True},
                 {"absolute_position": "yes"}):
        with pytest.raises(ConfigError, match=next(iter(opts))):
            build("physattn", **opts)


# -- every learned model ----------------------------------------------------------------------


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()))
@pytest.mark.parametrize("name", ["lstm", "gat", "transformer", "physattn"])
def test_every_learned_model_trains_with_each_option(name, options, open_data, well_data):
    data = well_data if options.get("wall_features") else open_data
    m = build(name, **options, **TINY).fit(data, seed=0)
    pred = m.predict(data)[0]
    assert pred.shape == (data.seqs[0].tracks.n_rows, 2) and np.all(np.isfinite(pred))
    if options.get("edge_features") == "r_only":
        assert m.net_cfg.edge_dim == 1


def test_networks_take_only_the_inputs_they_declare(open_data, well_data):
    with pytest.raises(ConfigError, match="egnn: does not read edge_features"):
        build("egnn", edge_features="r_only", **TINY).fit(open_data, seed=0)
    with pytest.raises(ConfigError, match="pairforce: does not read absolute_position .*wall_features"):
        build("pairforce", absolute_position=True, **TINY).fit(open_data, seed=0)
    m = build("pairforce", wall_features="on", **TINY).fit(well_data, seed=0)  # its wall term
    assert m.net.wall is not None and np.all(np.isfinite(m.predict(well_data)[0]))
