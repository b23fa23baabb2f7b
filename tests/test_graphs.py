import numpy as np
import numpy.testing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cellbench.errors import ConfigError
from cellbench.inputs.graphs import default_r_cut_um, frame_graphs, radius_edges
from tests.helpers import random_walk_tracks, table


def brute_force_edges(pos, r_cut, box=None):
    edges = set()
    for i in range(len(pos)):
        for j in range(len(pos)):
            if i == j:
                continue
            d = pos[i] - pos[j]
            if box is not None:
                d -= box * np.round(d / box)
            if np.hypot(*d) <= r_cut:
                edges.add((i, j))
    return edges


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 40), r_cut=st.floats(0.5, 30), seed=st.integers(0, 10_000), periodic=st.booleans())
def test_kdtree_edges_equal_brute_force(n, r_cut, seed, periodic):
    rng = np.random.default_rng(seed)
    box = 60.0 if periodic else None
    pos = rng.uniform(0, 60.0, (n, 2))
    edge_index, d_um, rel_um, self_loop = radius_edges(pos, r_cut, box)
    expected = brute_force_edges(pos, r_cut, box)
    if not expected:
        assert self_loop.all() and len(self_loop) == n
        npt.assert_array_equal(edge_index[0], edge_index[1])
        assert (d_um == 0).all()
        return
    got = set(map(tuple, edge_index.T.tolist()))
    assert got == expected
    assert not self_loop.any()
    # both directions, distances symmetric and equal to |rel|
    npt.assert_allclose(d_um, np.hypot(*rel_um.T))
    assert (d_um <= r_cut + 1e-12).all()
    # sorted by target: groups for the softmax are contiguous
    assert (np.diff(edge_index[1]) >= 0).all()


def test_rel_is_source_minus_target():
    edge_index, d_um, rel_um, _ = radius_edges(np.array([[0.0, 0.0], [3.0, 4.0]]), 10.0)
    for (i, j), rel, d in zip(edge_index.T, rel_um, d_um):
        npt.assert_allclose(rel, [[0.0, 0.0], [3.0, 4.0]][i] - np.array([[0.0, 0.0], [3.0, 4.0]][j]))
        assert d == pytest.approx(5.0)


def test_frame_graphs_cover_every_row_once_and_use_only_that_frame():
    t = random_walk_tracks(n_tracks=8, n_frames=12, seed=1, drop=0.3)
    graphs = frame_graphs(t, 15.0)
    rows = np.concatenate([g.rows for g in graphs])
    npt.assert_array_equal(np.sort(rows), np.arange(t.n_rows))
    for g in graphs:
        assert (t.df["frame"].to_numpy()[g.rows] == g.frame).all()


def test_empty_frame_gets_self_loops_with_zero_distance():
    t = table([(1, 0, 0.0, 0.0), (2, 0, 100.0, 0.0), (1, 1, 0.0, 0.0), (2, 1, 1.0, 0.0)])
    g0, g1 = frame_graphs(t, 5.0)
    assert g0.self_loop.all() and g0.n_edges == 2 and (g0.d_um == 0).all()
    assert not g1.self_loop.any() and g1.n_edges == 2


def test_default_r_cut_is_a_multiple_of_median_nn_distance():
    # a square lattice with spacing 4 um: every nearest-neighbour distance is 4
    rows = [(i * 10 + j, 0, 4.0 * i, 4.0 * j) for i in range(5) for j in range(5)]
    t = table(rows)
    assert default_r_cut_um([(t, np.array([0]))]) == pytest.approx(2.5 * 4.0)
    with pytest.raises(ConfigError, match="r-cut-um"):
        default_r_cut_um([(table([(1, 0, 0.0, 0.0)]), np.array([0]))])


def test_bad_r_cut_is_refused():
    with pytest.raises(ConfigError, match="r-cut-um"):
        radius_edges(np.zeros((3, 2)), 0.0)
