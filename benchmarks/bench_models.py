"""Training throughput of physattn against plain PyG TransformerConv, timed in the same run.

    pytest benchmarks/bench_models.py --benchmark-only -s

Frames are random cells at the density of the `default` preset (area fraction 0.5 of 10-um
discs) with r_cut = 25 um (~12 neighbours per cell). One step = forward, backward, Adam step on
a batch of 40 frames. The reference is a plain stack of two PyG TransformerConv layers (encoder,
two convs, linear head; no prior, no KL, no LSTM). physattn includes the prior in the logits,
the KL term and the track LSTM. ``extra_info`` carries frames/s and the time ratio.

Timed with one torch thread, as the training loop runs (:data:`cellbench.train.loop.TORCH_THREADS`):
on a shared 2-core machine two OpenMP threads spin against other processes (measured: plain
TransformerConv at 100 cells fell from ~900 to 14 frames/s with 2 threads under load 8).
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import TransformerConv

from cellbench.inputs.batching import EDGE_DIM, Batch, edge_features
from cellbench.inputs.graphs import radius_edges
from cellbench.models.net import NetConfig
from cellbench.models.physattn import PhysAttnNet
from cellbench.inputs.batching import track_keys
from cellbench.train.loop import attention_kl, gaussian_nll

torch.set_num_threads(1)

R_CUT_UM = 25.0
DENSITY_PER_UM2 = 0.5 / (np.pi * 5.0**2)
N_FEATURES = 7
BATCH_FRAMES = 40


def random_batch(n_cells: int, n_frames: int, seed: int = 0) -> Batch:
    rng = np.random.default_rng(seed)
    side = np.sqrt(n_cells / DENSITY_PER_UM2)
    xs, eis, eas, keys, cs = [], [], [], [], []
    off = 0
    for f in range(n_frames):
        pos = rng.uniform(0, side, (n_cells, 2))
        ei, d, rel, _ = radius_edges(pos, R_CUT_UM)
        eis.append(torch.as_tensor(ei + off))
        eas.append(torch.as_tensor(edge_features(rel, d, R_CUT_UM), dtype=torch.float32))
        cs.append(torch.as_tensor(np.exp(-d / 10.0), dtype=torch.float32))
        xs.append(torch.as_tensor(rng.normal(size=(n_cells, N_FEATURES)), dtype=torch.float32))
        keys.append(track_keys(np.full(n_cells, f), np.arange(n_cells)))
        off += n_cells
    n = off
    return Batch(torch.cat(xs), torch.cat(eis, 1), torch.cat(eas), torch.cat(cs), torch.ones(n, dtype=torch.bool),
                 torch.randn(n, 2), torch.zeros(n, dtype=torch.int8), np.concatenate(keys),
                 np.arange(0, n + 1, n_cells), np.zeros(n_frames + 1, dtype=np.int64))


class PlainTransformer(nn.Module):
    """Reference: encoder, two PyG TransformerConv, linear head (same widths as physattn)."""

    def __init__(self, hidden: int = 32, heads: int = 2):
        super().__init__()
        self.encoder = nn.Linear(N_FEATURES, hidden)
        self.convs = nn.ModuleList([TransformerConv(hidden, hidden // heads, heads=heads, edge_dim=EDGE_DIM) for _ in range(2)])
        self.head = nn.Linear(hidden, 2)

    def forward(self, b: Batch):
        z = F.gelu(self.encoder(b.x))
        for conv in self.convs:
            z = F.gelu(conv(z, b.edge_index, b.edge_attr))
        return self.head(z)


def plain_step(model, opt, b):
    loss = gaussian_nll(model(b), None, b.y).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()


def physattn_step(model, opt, b):
    pred = model(b, model.new_state())
    loss = gaussian_nll(pred.mu, pred.log_var, b.y).mean() + 0.1 * attention_kl(pred.attention, b, 1.0)
    opt.zero_grad()
    loss.backward()
    opt.step()


def _median_seconds(fn, repeats: int = 7) -> float:
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


@pytest.mark.parametrize("n_cells", [100, 500])
def test_train_step_throughput_physattn_vs_plain(benchmark, n_cells):
    torch.manual_seed(0)
    b = random_batch(n_cells, BATCH_FRAMES)
    plain = PlainTransformer()
    opt_p = torch.optim.Adam(plain.parameters())
    t_plain = _median_seconds(lambda: plain_step(plain, opt_p, b))
    net = PhysAttnNet(NetConfig(n_features=N_FEATURES))
    opt = torch.optim.Adam(net.parameters())
    physattn_step(net, opt, b)
    benchmark.pedantic(physattn_step, args=(net, opt, b), rounds=7, iterations=1, warmup_rounds=1)
    t_phys = benchmark.stats.stats.median
    benchmark.extra_info.update({
        "n_cells": n_cells, "edges_per_cell": b.edge_index.shape[1] / b.n_nodes,
        "plain_frames_per_s": BATCH_FRAMES / t_plain, "physattn_frames_per_s": BATCH_FRAMES / t_phys,
        "physattn_over_plain_time": t_phys / t_plain,
    })
    print(f"\n{n_cells} cells/frame: plain TransformerConv {BATCH_FRAMES / t_plain:.0f} frames/s, "
          f"physattn (+prior, KL, LSTM) {BATCH_FRAMES / t_phys:.0f} frames/s, time ratio {t_phys / t_plain:.2f}")


def test_forward_backward_one_frame_of_10000_cells(benchmark):
    torch.manual_seed(0)
    b = random_batch(10_000, 1)
    net = PhysAttnNet(NetConfig(n_features=N_FEATURES))

    def step():
        pred = net(b, net.new_state())
        loss = gaussian_nll(pred.mu, pred.log_var, b.y).mean() + 0.1 * attention_kl(pred.attention, b, 1.0)
        net.zero_grad()
        loss.backward()

    step()
    benchmark.pedantic(step, rounds=5, iterations=1, warmup_rounds=1)
    benchmark.extra_info["seconds"] = benchmark.stats.stats.median
    print(f"\n10,000 cells, one frame, forward+backward: {benchmark.stats.stats.median:.3f} s")
