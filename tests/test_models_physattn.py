"""PhysAttnConv, the attention-prior loss, the track LSTM and the shared network: exact properties."""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest
import torch
from torch_geometric.nn import TransformerConv
from torch_geometric.utils import softmax

from cellbench.inputs.batching import EDGE_DIM, Batch
from cellbench.models.gat import GATNet
from cellbench.models.net import NetConfig
from cellbench.models.physattn import PhysAttnNet
from cellbench.models.physattn_conv import PhysAttnConv, kl_to_prior, prior_distribution
from cellbench.models.registry import MODELS
from cellbench.inputs.batching import track_keys
from cellbench.models.temporal import TrackLSTM, TrackState
from cellbench.models.transformer import TransformerNet
from cellbench.train.loop import attention_kl, gaussian_nll

NETS = [MODELS[name].load() for name in MODELS if MODELS[name].kind == "learned"]
"""Every registered network class (physattn, transformer, gat, lstm and any added later)."""

ATOL = 1e-6  # float32 round-off on O(1) values


def random_graph(n_nodes=12, n_edges=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n_nodes, (2, n_edges), generator=g)
    return ei


def make_batch(n_nodes=10, n_edges=30, n_features=7, seed=0, track_id=None, self_loops_only=False) -> Batch:
    g = torch.Generator().manual_seed(seed)
    if self_loops_only:
        ei = torch.arange(n_nodes).repeat(2, 1)
        n_edges = n_nodes
    else:
        ei = torch.randint(0, n_nodes, (2, n_edges), generator=g)
    track_id = np.arange(n_nodes) if track_id is None else np.asarray(track_id)
    has_nb = torch.zeros(n_nodes, dtype=torch.bool)
    if not self_loops_only:
        has_nb[ei[1]] = True
    return Batch(
        x=torch.randn(n_nodes, n_features, generator=g), edge_index=ei,
        edge_attr=torch.zeros(n_edges, EDGE_DIM) if self_loops_only else torch.randn(n_edges, EDGE_DIM, generator=g),
        c_tilde=torch.zeros(n_edges) if self_loops_only else torch.randn(n_edges, generator=g),
        has_neighbour=has_nb, y=torch.randn(n_nodes, 2, generator=g), split=torch.zeros(n_nodes, dtype=torch.int8),
        keys=track_keys(np.zeros(n_nodes, dtype=np.int64), track_id),
        frame_ptr=np.array([0, n_nodes]), edge_ptr=np.array([0, n_edges]),
    )


def test_prior_distribution_equals_brute_force_per_node():
    ei = random_graph()
    c = torch.randn(ei.shape[1])
    out = prior_distribution(c, ei[1], 12, gamma=1.7)
    for j in range(12):
        m = ei[1] == j
        if m.any():
            npt.assert_allclose(out[m].numpy(), torch.softmax(1.7 * c[m], dim=0).numpy(), atol=ATOL)


@pytest.mark.parametrize("reduce", ["mean", "sum"])
def test_kl_zero_at_prior_positive_otherwise(reduce):
    ei = random_graph()
    pi = prior_distribution(torch.randn(ei.shape[1]), ei[1], 12, gamma=2.0)
    alpha = pi[:, None].repeat(1, 2)
    assert abs(float(kl_to_prior(alpha, pi, ei[1], 12, reduce=reduce))) < 1e-6
    other = softmax(torch.randn(ei.shape[1], 2), ei[1], num_nodes=12)
    assert float(kl_to_prior(other, pi, ei[1], 12, reduce=reduce)) > 1e-4


def test_kl_sum_is_the_per_node_kl():
    ei = torch.tensor([[1, 2, 3, 0], [0, 0, 0, 1]])
    pi = torch.tensor([0.2, 0.3, 0.5, 1.0])
    alpha = torch.tensor([[0.5], [0.25], [0.25], [1.0]])
    kl0 = float((alpha[:3, 0] * torch.log(alpha[:3, 0] / pi[:3])).sum())
    use = torch.tensor([True, False, False, False])  # node 1's single edge is left out
    npt.assert_allclose(float(kl_to_prior(alpha, pi, ei[1], 4, use, reduce="sum")), kl0, rtol=1e-5)
    npt.assert_allclose(float(kl_to_prior(alpha, pi, ei[1], 4, use, reduce="mean")), kl0 / 3, rtol=1e-5)


def test_physattn_with_gamma_zero_equals_transformerconv():
    torch.manual_seed(0)
    ours = PhysAttnConv(8, 4, heads=2, gamma=0.0, edge_dim=5)
    plain = TransformerConv(8, 4, heads=2, edge_dim=5)
    plain.load_state_dict(ours.state_dict())
    x, ei, ea = torch.randn(12, 8), random_graph(), torch.randn(40, 5)
    out1, (_, a1) = ours(x, ei, ea, torch.randn(40), return_attention_weights=True)
    out2, (_, a2) = plain(x, ei, ea, return_attention_weights=True)
    npt.assert_allclose(out1.detach().numpy(), out2.detach().numpy(), atol=ATOL)
    npt.assert_allclose(a1.detach().numpy(), a2.detach().numpy(), atol=ATOL)
    assert a1.shape == (40, 2)
    ours.gamma = 1.0  # the prior does change the logits
    assert not torch.allclose(ours(x, ei, ea, torch.randn(40)), out2)


def test_physattn_prior_shifts_attention_as_the_logit_formula_says():
    """With zero weights all logits are equal, so alpha must equal softmax(gamma * C~) = pi."""
    conv = PhysAttnConv(4, 4, heads=1, gamma=1.5)
    for p in conv.parameters():
        torch.nn.init.zeros_(p)
    ei = random_graph()
    c = torch.randn(40)
    _, (_, alpha) = conv(torch.randn(12, 4), ei, None, c, return_attention_weights=True)
    npt.assert_allclose(alpha[:, 0].detach().numpy(), prior_distribution(c, ei[1], 12, 1.5).numpy(), atol=ATOL)


def test_network_gamma_zero_equals_transformer_network():
    torch.manual_seed(0)
    phys = PhysAttnNet(NetConfig(n_features=7, gamma=0.0))
    plain = TransformerNet(NetConfig(n_features=7))
    plain.load_state_dict(phys.state_dict())
    b = make_batch()
    p1 = phys(b, phys.new_state())
    p2 = plain(b, plain.new_state())
    npt.assert_allclose(p1.mu.detach().numpy(), p2.mu.detach().numpy(), atol=ATOL)


@pytest.mark.parametrize("net_class", NETS, ids=lambda c: c.conv)
def test_permuting_nodes_permutes_outputs(net_class):
    torch.manual_seed(0)
    net = net_class(NetConfig(n_features=7))
    net.eval()
    frames = [make_batch(seed=s, track_id=np.arange(10) + 100) for s in (0, 1)]
    perm = np.random.default_rng(0).permutation(10)
    inv = np.argsort(perm)

    def permuted(b: Batch) -> Batch:
        p = torch.as_tensor(perm)
        new_index = torch.as_tensor(inv)[b.edge_index]  # node k moves to position inv[k]
        return Batch(b.x[p], new_index, b.edge_attr, b.c_tilde, b.has_neighbour[p], b.y[p], b.split[p], b.keys[perm],
                     b.frame_ptr, b.edge_ptr)

    s1, s2 = net.new_state(), net.new_state()
    for b in frames:
        out1 = net(b, s1)
        out2 = net(permuted(b), s2)
        npt.assert_allclose(out2.mu.detach().numpy(), out1.mu.detach().numpy()[perm], atol=1e-5)
        if out1.attention is not None:  # edges were not reordered: attention is identical
            npt.assert_allclose(out2.attention[0].detach().numpy(), out1.attention[0].detach().numpy(), atol=1e-5)


@pytest.mark.parametrize("net_class", [PhysAttnNet, GATNet], ids=lambda c: c.conv)
def test_empty_frame_gives_finite_loss_and_gradients(net_class):
    net = net_class(NetConfig(n_features=7, heteroscedastic=True))
    b = make_batch(n_nodes=4, self_loops_only=True)
    pred = net(b, net.new_state())
    loss = gaussian_nll(pred.mu, pred.log_var, b.y).mean() + 0.5 * attention_kl(pred.attention, b, 1.0)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


def test_lstm_state_follows_track_ids_with_births_and_deaths():
    torch.manual_seed(0)
    lstm = TrackLSTM(3, 5)
    state = TrackState(5)
    z1, z2 = torch.randn(3, 3), torch.randn(3, 3)
    h1 = lstm(z1, track_keys(np.zeros(3), np.array([1, 2, 3])), state)
    c1 = {int(k): c for k, c in zip(state.keys, state.c)}
    # frame 2: track 2 ended, track 4 is born, order shuffled
    h2 = lstm(z2, track_keys(np.zeros(3), np.array([3, 4, 1])), state)
    k = track_keys(np.zeros(1), np.array([3]))[0]
    h_ref, _ = lstm.cell(z2[0:1], (h1[2:3], c1[int(k)][None]))
    npt.assert_allclose(h2[0].detach().numpy(), h_ref[0].detach().numpy(), atol=ATOL)
    h_born, _ = lstm.cell(z2[1:2])  # zero state
    npt.assert_allclose(h2[1].detach().numpy(), h_born[0].detach().numpy(), atol=ATOL)
    h_ref1, _ = lstm.cell(z2[2:3], (h1[0:1], c1[int(track_keys(np.zeros(1), np.array([1]))[0])][None]))
    npt.assert_allclose(h2[2].detach().numpy(), h_ref1[0].detach().numpy(), atol=ATOL)
    assert sorted(state.keys.tolist()) == sorted(track_keys(np.zeros(3), np.array([1, 3, 4])).tolist())  # 2 dropped


def test_lanes_do_not_share_state():
    lstm = TrackLSTM(3, 4)
    state = TrackState(4)
    z = torch.randn(1, 3)
    lstm(z, track_keys(np.array([0]), np.array([7])), state)
    h, _ = state.gather(track_keys(np.array([1]), np.array([7])), z)
    assert float(h.abs().sum()) == 0.0


def test_eta_warms_up_smoothly_from_zero_to_eta_max():
    from cellbench.train.loop import eta_schedule

    etas = [eta_schedule(s, 100, 0.5, 0.3) for s in range(101)]
    assert etas[0] == 0.0 and etas[-1] == pytest.approx(0.5) and etas[30] == pytest.approx(0.5)
    assert all(b >= a for a, b in zip(etas, etas[1:]))
    assert max(abs(b - a) for a, b in zip(etas, etas[1:])) < 0.5 * np.pi / 2 / 30 + 1e-9  # no jump
    assert eta_schedule(50, 100, 0.0, 0.3) == 0.0
