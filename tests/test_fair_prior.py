"""The prior on the learned logits' scale: per-frame z-scored C~, learned gamma per head, KL summed as in eq. 6.

The issue these options answer: on ``default`` the robust C~ reaches 15 on force-bearing edges and
the per-node spread of gamma C~ (gamma = 1) is 10-15 times that of the learned logits, so the
attention is the prior; and with ``kl_reduce='mean'`` each node's KL is divided by its in-degree.
Every new behaviour is an option; the defaults must give the numbers recorded before.
"""

from __future__ import annotations

import json
import math

import numpy as np
import numpy.testing as npt
import pytest
import torch
from torch_geometric.utils import softmax

import cellbench.sim
from cellbench.data.dataset import build_dataset
from cellbench.data.splits import frames_of
from cellbench.errors import ConfigError
from cellbench.inputs.batching import EDGE_DIM, Batch, TargetScaler, build_frames, collate
from cellbench.inputs.graphs import default_r_cut_um
from cellbench.models.net import GraphTemporalNet, NetConfig
from cellbench.models.physattn import PhysAttnNet
from cellbench.models.physattn_conv import PhysAttnConv, prior_distribution, standardize_per_graph
from cellbench.models.transformer import TransformerNet
from cellbench.prior.edges import edge_prior
from cellbench.train.build import build
from cellbench.train.loop import TrainConfig, attention_kl, fit

SMALL = {"n_frames": 60, "box_um": 120.0, "n_cells": 92, "fov_um": (10.0, 10.0, 110.0, 110.0)}
"""The `default` preset (active soft discs) shrunk to ~65 observed cells x 60 frames: real radius graphs."""


@pytest.fixture(scope="module")
def frames():
    """Per sequence, the frames as the learned models see them, C~ from the prior fitted on training frames."""
    data = build_dataset([cellbench.sim.simulate("default", 1, overrides=SMALL).tracks])
    train = [(s.tracks, frames_of(data.blocks, i, "train")) for i, s in enumerate(data.seqs)]
    r_cut_um = default_r_cut_um(train)
    prior = edge_prior(train, r_cut_um)
    return build_frames(data, r_cut_um, TargetScaler.fit(data), 2, prior.c_tilde)


def _net(frames, **options) -> PhysAttnNet:
    torch.manual_seed(0)
    return PhysAttnNet(NetConfig(n_features=frames[0][0].x.shape[1], hidden=8), **options)


def test_standardized_prior_has_zero_mean_and_unit_std_per_frame(frames):
    batch = collate(frames[0][10:14], [0, 1, 2, 3])  # four frames in one disjoint graph
    real = batch.edge_index[0] != batch.edge_index[1]
    z = standardize_per_graph(batch.c_tilde, batch.edge_ptr, real)
    assert torch.equal(z, _net(frames, prior_scale="standardized").prior_edge_values(batch))
    for a, b in zip(batch.edge_ptr[:-1], batch.edge_ptr[1:]):
        c, zz = batch.c_tilde[a:b][real[a:b]].double(), z[a:b][real[a:b]].double()
        assert len(zz) > 50
        assert abs(float(c.std(unbiased=False)) - 1.0) > 0.2  # the robust C~ is not already on that scale
        npt.assert_allclose(float(zz.mean()), 0.0, atol=1e-5)  # float32 sums over a few hundred edges
        npt.assert_allclose(float(zz.std(unbiased=False)), 1.0, atol=1e-5)
        # an affine map of C~ per frame: same order, so the same softmax ranking within each target
        npt.assert_allclose(np.corrcoef(c.numpy(), zz.numpy())[0, 1], 1.0, atol=1e-6)


def test_standardized_leaves_self_loops_and_flat_frames_at_zero():
    c = torch.tensor([0.0, 0.0, 2.0, 2.0, 1.0, 3.0])
    ptr = np.array([0, 2, 4, 6])  # frame 0: two self loops; frame 1: no spread; frame 2: two values
    real = torch.tensor([False, False, True, True, True, True])
    z = standardize_per_graph(c, ptr, real)
    npt.assert_array_equal(z.numpy(), [0.0, 0.0, 0.0, 0.0, -1.0, 1.0])


def test_standardized_forward_does_not_touch_the_callers_batch(frames):
    batch = collate(frames[0][10:12], [0, 1])
    before = batch.c_tilde.clone()
    net = _net(frames, prior_scale="standardized")
    net(batch, net.new_state())
    assert torch.equal(batch.c_tilde, before)


def test_learn_gamma_starts_small_trains_and_is_reported(frames):
    net = _net(frames, prior_scale="standardized", learn_gamma=True, gamma_init=0.1)
    params = dict(net.named_parameters())
    for b in (0, 1):
        g = params[f"convs.{b}.gamma_heads"]
        assert g.requires_grad and g.shape == (net.cfg.heads,)
        npt.assert_array_equal(g.detach().numpy(), np.full(net.cfg.heads, 0.1, dtype=np.float32))
    assert net.prior_scale_report()["gamma"] == [[0.1, 0.1], [0.1, 0.1]]

    fit(net, frames, TrainConfig(epochs=2, lanes=4, eta_max=0.1), seed=0, kl_gamma=1.0)
    report = json.loads(json.dumps(net.prior_scale_report()))  # JSON-ready
    learned = [[float(v) for v in params[f"convs.{b}.gamma_heads"].detach()] for b in (0, 1)]
    npt.assert_allclose(report["gamma"], learned, atol=1e-6)
    assert report["prior_scale"] == "standardized" and report["learn_gamma"] and report["gamma_init"] == 0.1
    assert not np.allclose(learned, 0.1, atol=1e-4)  # training moved it


def test_learn_gamma_is_off_when_the_prior_is_out_of_the_logits(frames):
    torch.manual_seed(0)
    net = PhysAttnNet(NetConfig(n_features=7, gamma=0.0), learn_gamma=True)  # prior_bias=False: KL only
    assert not any(n.endswith("gamma_heads") for n, _ in net.named_parameters())
    assert net.prior_scale_report()["gamma"] == [[0.0, 0.0], [0.0, 0.0]]


def test_bad_prior_scale_is_refused():
    with pytest.raises(ConfigError, match="prior_scale 'node'"):
        PhysAttnNet(NetConfig(n_features=7), prior_scale="node")


def test_kl_sum_is_mean_times_in_degree_on_a_hand_made_graph():
    # 4 nodes, each receives from the other 3: in-degree 3 everywhere
    src = torch.tensor([j for i in range(4) for j in range(4) if j != i])
    dst = torch.tensor([i for i in range(4) for j in range(4) if j != i])
    ei = torch.stack([src, dst])
    g = torch.Generator().manual_seed(0)
    c = torch.randn(12, generator=g)
    alpha = softmax(torch.randn(12, 2, generator=g), dst, num_nodes=4)
    batch = _batch(ei, c)
    kl_sum = attention_kl([alpha], batch, 1.0, reduce="sum")
    kl_mean = attention_kl([alpha], batch, 1.0, reduce="mean")
    npt.assert_allclose(float(kl_sum), 3 * float(kl_mean), rtol=1e-6)
    # known answer: the per-node KL, averaged over nodes and heads
    pi = prior_distribution(c, dst, 4, 1.0)
    exact = np.mean([float((alpha[dst == j, h] * torch.log(alpha[dst == j, h] / pi[dst == j])).sum())
                     for j in range(4) for h in range(2)])
    npt.assert_allclose(float(kl_sum), exact, rtol=1e-5)


def test_kl_reduce_and_eta_are_model_options():
    model = build("physattn", train={"kl_reduce": "sum", "eta_max": 1.0})
    assert model.train_cfg.kl_reduce == "sum" and model.train_cfg.eta_max == 1.0
    assert build("physattn").train_cfg.kl_reduce == "mean"  # the default stays
    with pytest.raises(ConfigError, match="kl_reduce"):
        build("physattn", train={"kl_reduce": "max"})


def test_default_logits_are_bitwise_the_explicit_formula():
    """gamma = 1, robust C~: alpha = softmax_j(q_j . (k_i + W_6 e_ij) / sqrt(d) + 1.0 * C~_ij), exactly."""
    torch.manual_seed(0)
    conv = PhysAttnConv(8, 4, heads=2, edge_dim=5)
    assert conv.gamma_heads is None and not any("gamma" in n for n, _ in conv.named_parameters())
    x, ea, c = torch.randn(12, 8), torch.randn(40, 5), torch.randn(40)
    ei = torch.randint(0, 12, (2, 40), generator=torch.Generator().manual_seed(1))
    _, (_, alpha) = conv(x, ei, ea, c, return_attention_weights=True)
    q = conv.lin_query(x).view(-1, 2, 4)[ei[1]]
    k = conv.lin_key(x).view(-1, 2, 4)[ei[0]] + conv.lin_edge(ea).view(-1, 2, 4)
    logits = (q * k).sum(dim=-1) / math.sqrt(4) + 1.0 * c.view(-1, 1)
    assert torch.equal(alpha, softmax(logits, ei[1], None, 12))


def test_default_network_is_the_shared_network_unchanged(frames):
    """Default physattn: no new parameter, C~ passed through as it is, the KL's prior is batch.c_tilde itself."""
    net = _net(frames)
    assert list(net.state_dict()) == list(TransformerNet(net.cfg).state_dict())
    batch = collate(frames[0][10:12], [0, 1])
    assert net.prior_edge_values(batch) is batch.c_tilde
    p1 = net(batch, net.new_state())
    p2 = GraphTemporalNet.forward(net, batch, net.new_state())
    assert torch.equal(p1.mu, p2.mu) and all(torch.equal(a, b) for a, b in zip(p1.attention, p2.attention))


def _batch(ei: torch.Tensor, c: torch.Tensor) -> Batch:
    """One frame as a :class:`Batch` holding only what the KL reads (edges, C~, nodes with a neighbour)."""
    n, e = int(ei.max()) + 1, ei.shape[1]
    return Batch(x=torch.zeros(n, 1), edge_index=ei, edge_attr=torch.zeros(e, EDGE_DIM), c_tilde=c,
                 has_neighbour=torch.ones(n, dtype=torch.bool), y=torch.zeros(n, 2),
                 split=torch.zeros(n, dtype=torch.int8), keys=np.arange(n), frame_ptr=np.array([0, n]),
                 edge_ptr=np.array([0, e]))
