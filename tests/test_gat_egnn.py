"""Fair baselines: gat sees a cell's own features (self loops + residual); egnn is E(2)-equivariant."""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest
import torch
from torch_geometric.nn import GATConv

from cellbench.data.dataset import build_dataset
from cellbench.errors import ConfigError
from cellbench.inputs.batching import EDGE_DIM, N_RBF, Batch, TargetScaler, build_frames, collate, edge_features
from cellbench.inputs.batching import node_feature_names, track_keys
from cellbench.inputs.graphs import radius_edges
from cellbench.inputs.batching import REL_COLS
from cellbench.models.egnn import EGNNNet, edge_invariants
from cellbench.models.net import NetConfig, column_layout
from cellbench.models.gat import GATNet, SelfLoopGATConv, input_edge_positions, self_loop_edge_attr
from cellbench.train.build import build
from tests.helpers import random_walk_tracks

ATOL = 1e-5  # float32 round-off on O(1) values through two blocks, an LSTM and the head


def isolated_node_batch(x: torch.Tensor) -> Batch:
    """Nodes 0-2 joined by a triangle of edges, node 3 with no incoming edge (a frame with edges elsewhere)."""
    ei = torch.tensor([[0, 1, 1, 2, 2, 0], [1, 0, 2, 1, 0, 2]])
    g = torch.Generator().manual_seed(1)
    n = x.shape[0]
    return Batch(x=x, edge_index=ei, edge_attr=torch.randn(6, EDGE_DIM, generator=g), c_tilde=torch.zeros(6),
                 has_neighbour=torch.tensor([True, True, True, False]), y=torch.zeros(n, 2),
                 split=torch.zeros(n, dtype=torch.int8), keys=track_keys(np.zeros(n, dtype=np.int64), np.arange(n)),
                 frame_ptr=np.array([0, n]), edge_ptr=np.array([0, 6]))


# -- gat -------------------------------------------------------------------------------------------

def test_gat_block_output_of_an_isolated_node_depends_on_its_own_features():
    torch.manual_seed(0)
    conv = SelfLoopGATConv(8, 4, 2, EDGE_DIM)
    b = isolated_node_batch(torch.randn(4, 8))
    out = conv(b.x, b.edge_index, b.edge_attr)
    x2 = b.x.clone()
    x2[3] += 1.0
    out2 = conv(x2, b.edge_index, b.edge_attr)
    assert (out[3] - conv.bias).abs().max() > 1e-3  # more than the bias, so not a constant
    assert (out2[3] - out[3]).abs().max() > 1e-3
    npt.assert_allclose(out2[:3].detach().numpy(), out[:3].detach().numpy(), atol=1e-6)  # node 3 sends nothing
    # the bug this fixes: without self loops or residual the isolated node gets the bias alone
    old = GATConv(8, 4, heads=2, edge_dim=EDGE_DIM, add_self_loops=False)
    npt.assert_allclose(old(b.x, b.edge_index, b.edge_attr)[3].detach().numpy(), old.bias.detach().numpy())


def test_gat_network_prediction_of_an_isolated_node_depends_on_its_own_features():
    torch.manual_seed(0)
    net = GATNet(NetConfig(n_features=7, hidden=8))
    x = torch.randn(4, 7)
    x2 = x.clone()
    x2[3] = torch.randn(7)
    mu = net(isolated_node_batch(x), net.new_state()).mu
    mu2 = net(isolated_node_batch(x2), net.new_state()).mu
    assert (mu2[3] - mu[3]).abs().max() > 1e-4 and mu[3].abs().max() > 1e-4


def test_gat_self_loops_carry_the_features_of_a_zero_length_edge():
    """The fill value is what an empty frame's self loops get from the graph builder, at any r_cut."""
    fill = self_loop_edge_attr(EDGE_DIM).numpy()
    _, d_um, rel_um, loop = radius_edges(np.array([[0.0, 0.0], [100.0, 0.0]]), 10.0)
    assert loop.all()
    for r_cut_um in (1.0, 37.0):
        npt.assert_allclose(edge_features(rel_um, d_um, r_cut_um), np.tile(fill, (2, 1)), rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="edge_dim"):
        self_loop_edge_attr(EDGE_DIM + 1)


def test_gat_attention_comes_back_one_row_per_input_edge():
    torch.manual_seed(0)
    conv = SelfLoopGATConv(8, 4, 2, EDGE_DIM)
    x = torch.randn(6, 8)
    ei = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 0, 3, 2, 4, 5]])  # two pairs, two input self loops
    ea = torch.randn(6, EDGE_DIM)
    _, (ei_out, alpha) = conv(x, ei, ea, return_attention_weights=True)
    _, (ei_pyg, alpha_pyg) = GATConv.forward(conv, x, ei, ea, return_attention_weights=True)
    pos = input_edge_positions(ei)
    assert torch.equal(ei_pyg[:, pos], ei) and torch.equal(ei_out, ei)
    npt.assert_allclose(alpha.detach().numpy(), alpha_pyg[pos].detach().numpy())
    npt.assert_allclose(alpha[4:].detach().numpy(), 1.0, rtol=1e-6)  # alone with itself: all the weight


# -- egnn ------------------------------------------------------------------------------------------

def test_egnn_feature_and_edge_layouts_match_the_builders():
    for n_lags in (1, 2, 3):
        for has_radius in (False, True):
            names = node_feature_names(n_lags, has_radius)
            assert column_layout(NetConfig(n_features=len(names))) == (n_lags, names)
            assert column_layout(NetConfig(n_features=len(names), feature_names=names)) == (n_lags, names)
    with pytest.raises(ConfigError, match="n_features"):
        column_layout(NetConfig(n_features=6))
    rng = np.random.default_rng(0)
    rel = rng.normal(size=(20, 2)) * 5
    d = np.hypot(rel[:, 0], rel[:, 1])
    angle = 0.9
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    e, e_rot = (torch.as_tensor(edge_features(r, d, 12.0)) for r in (rel, rel @ rot.T))
    npt.assert_allclose(e[:, REL_COLS].numpy() * 12.0, rel, rtol=1e-12)
    npt.assert_allclose(edge_invariants(e_rot, N_RBF).numpy(), edge_invariants(e, N_RBF).numpy(), atol=1e-12)
    npt.assert_allclose(edge_invariants(e, N_RBF)[:, 0].numpy(), (d / 12.0) ** 2, rtol=1e-12)


def _moved(tracks, rot: np.ndarray, shift_um: np.ndarray):
    return tracks.row_window(0, tracks.n_rows, xy_um=tracks.positions_um() @ rot.T + shift_um)


def _run(net, frames, perm_of=None) -> list[np.ndarray]:
    """mu per frame, the LSTM state carried from frame to frame; ``perm_of(frame)`` reorders nodes."""
    state = net.new_state()
    out = []
    with torch.no_grad():
        for f in frames:
            b = collate([f], [0])
            if perm_of is not None:
                b = _permuted(b, perm_of(f))
            out.append(net(b, state).mu.numpy())
    return out


def _permuted(b: Batch, perm: np.ndarray) -> Batch:
    p = torch.as_tensor(perm)
    inv = torch.as_tensor(np.argsort(perm))
    return Batch(b.x[p], inv[b.edge_index], b.edge_attr, b.c_tilde, b.has_neighbour[p], b.y[p], b.split[p],
                 b.keys[perm], b.frame_ptr, b.edge_ptr)


@pytest.fixture(scope="module")
def walk():
    return random_walk_tracks(n_tracks=12, n_frames=15, seed=2, box_um=40.0)


@pytest.mark.parametrize("reflect", [False, True], ids=["rotation", "rotation+reflection"])
def test_egnn_rotating_and_translating_positions_rotates_the_prediction(walk, reflect):
    """mu(R x + b) = R mu(x) over a whole sequence (LSTM state carried), R a rotation or a reflection."""
    angle = 2.1
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    if reflect:
        rot = rot @ np.diag([1.0, -1.0])
    data = build_dataset([walk])
    moved = build_dataset([_moved(walk, rot, np.array([250.0, -80.0]))])
    scaler = TargetScaler.fit(data)  # scale only: node features are lags / scale, no mean subtracted
    torch.manual_seed(0)
    net = EGNNNet(NetConfig(n_features=7, hidden=16)).eval()
    mus = _run(net, build_frames(data, 12.0, scaler)[0])
    mus_moved = _run(net, build_frames(moved, 12.0, scaler)[0])
    assert sum(len(m) for m in mus) == walk.n_rows and np.abs(np.concatenate(mus)).max() > 1e-3
    for mu, mu_moved in zip(mus, mus_moved):
        npt.assert_allclose(mu_moved, mu @ rot.T, atol=ATOL)


def test_egnn_permuting_nodes_permutes_the_prediction(walk):
    data = build_dataset([walk])
    frames = build_frames(data, 12.0, TargetScaler.fit(data))[0]
    torch.manual_seed(0)
    net = EGNNNet(NetConfig(n_features=7, hidden=16, heteroscedastic=True)).eval()
    perms = {f.frame: np.random.default_rng(f.frame).permutation(f.n_nodes) for f in frames}
    mus = _run(net, frames)
    mus_perm = _run(net, frames, perm_of=lambda f: perms[f.frame])
    for f, mu, mu_perm in zip(frames, mus, mus_perm):
        npt.assert_allclose(mu_perm, mu[perms[f.frame]], atol=ATOL)


def test_egnn_noise_is_isotropic_and_there_is_no_attention():
    torch.manual_seed(0)
    net = EGNNNet(NetConfig(n_features=7, hidden=8, heteroscedastic=True))
    x = torch.randn(4, 7)
    x[3, [0, 1, 3, 4]] = 0.0  # dx, dy of lags 1 and 2 (node_feature_names)
    pred = net(isolated_node_batch(x), net.new_state())
    assert pred.attention is None and torch.equal(pred.log_var[:, 0], pred.log_var[:, 1])
    npt.assert_allclose(pred.mu[3].detach().numpy(), 0.0, atol=1e-7)  # all-zero lags, no neighbour: no vector


# -- both through the one build path and the one loop ----------------------------------------------

@pytest.mark.parametrize("name", ["gat", "egnn"])
def test_trains_through_build_and_the_one_loop(name):
    data = build_dataset([random_walk_tracks(n_tracks=8, n_frames=30, seed=3)])
    model = build(name, train={"epochs": 1}, hidden=8).fit(data, seed=0)
    pred = model.predict(data)[0]
    assert pred.shape == (data.seqs[0].tracks.n_rows, 2) and np.isfinite(pred).all()
    assert model.config()["conv"] == name and len(model.fit_result.history) == 1
    assert (model.attention_table(data) is None) == (name == "egnn")
