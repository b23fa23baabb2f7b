"""Training throughput of physattn against the same network without the prior, timed in the same run.

    pytest benchmarks/bench_models.py --benchmark-only -s

Frames are random cells at the density of the `default` preset (area fraction 0.5 of 10-um
discs) with r_cut = 25 um (~12 neighbours per cell), 100, 500 and 2,000 cells per frame. One step
= forward, backward, Adam step on a batch of 40 frames. physattn's step includes the prior in the
logits, the KL term toward pi and the track LSTM. Two references, each timed interleaved with
physattn (round robin: one step of each reference, then one of physattn, per round; medians):

- ``transformer``, the registered network without the prior: the same encoder, two PyG
  TransformerConv blocks, track LSTM and head, no prior in the logits, no KL term.
  ``physattn_over_transformer_time`` is what the prior costs (issue 17: "physattn's training
  overhead within 1.15x of plain TransformerConv"). **The 1.15 goal is judged on this ratio**:
  it is the only one in which the two sides differ by the prior alone.
- ``bare``: encoder, two PyG TransformerConv, linear head; no LSTM. ``physattn_over_bare_time``
  is kept because the first measurements of issue 17 used it (1.13 at 100 cells, 1.19-1.33 at
  500), but it also counts the track LSTM (7-11 % of a step in our profiles), a part of every
  learned graph model here (``transformer`` and ``gat`` have it too) and not of the prior.

``extra_info`` carries frames/s of the three and both time ratios. Timings on a shared machine
are noisy: compare the ratios of one run, not seconds across runs.

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

from hostinfo import machine_info  # benchmarks/ is on sys.path under pytest

from cellbench.inputs.batching import EDGE_DIM, Batch, edge_features, track_keys
from cellbench.inputs.graphs import radius_edges
from cellbench.models.net import NetConfig
from cellbench.models.physattn import PhysAttnNet
from cellbench.models.transformer import TransformerNet
from cellbench.train.loop import TORCH_THREADS, attention_kl, gaussian_nll

torch.set_num_threads(TORCH_THREADS)

R_CUT_UM = 25.0
DENSITY_PER_UM2 = 0.5 / (np.pi * 5.0**2)
N_FEATURES = 7
BATCH_FRAMES = 40
ROUNDS = {100: 15, 500: 9, 2000: 5}
"""Timed rounds per frame size (a round is one step of each model); a 2,000-cell step takes seconds."""


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
    edge_ptr = np.r_[0, np.cumsum([ei.shape[1] for ei in eis])]
    return Batch(torch.cat(xs), torch.cat(eis, 1), torch.cat(eas), torch.cat(cs), torch.ones(n, dtype=torch.bool),
                 torch.randn(n, 2), torch.zeros(n, dtype=torch.int8), np.concatenate(keys),
                 np.arange(0, n + 1, n_cells), edge_ptr)


class PlainTransformer(nn.Module):
    """The bare reference: encoder, two PyG TransformerConv, linear head (same widths as physattn, no LSTM)."""

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


def transformer_step(model, opt, b):
    pred = model(b, model.new_state(), return_attention=False)  # no KL term: nothing reads the attention
    loss = gaussian_nll(pred.mu, pred.log_var, b.y).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()


def physattn_step(model, opt, b):
    pred = model(b, model.new_state())
    loss = gaussian_nll(pred.mu, pred.log_var, b.y).mean() + 0.1 * attention_kl(pred.attention, b, 1.0)
    opt.zero_grad()
    loss.backward()
    opt.step()


def _with_adam(model: nn.Module) -> tuple[nn.Module, torch.optim.Optimizer]:
    return model, torch.optim.Adam(model.parameters())


@pytest.mark.parametrize("n_cells", [100, 500, 2000])
def test_train_step_throughput_physattn_vs_transformer(benchmark, n_cells):
    torch.manual_seed(0)
    b = random_batch(n_cells, BATCH_FRAMES)
    references = {"bare": (plain_step, *_with_adam(PlainTransformer())),
                  "transformer": (transformer_step, *_with_adam(TransformerNet(NetConfig(n_features=N_FEATURES))))}
    net, opt = _with_adam(PhysAttnNet(NetConfig(n_features=N_FEATURES)))
    seconds = {name: [] for name in references}

    def time_references():  # pytest-benchmark calls this before each physattn step, untimed by it
        for name, (step, model, model_opt) in references.items():
            t0 = time.perf_counter()
            step(model, model_opt, b)
            seconds[name].append(time.perf_counter() - t0)
        return (net, opt, b), {}

    warmup = 1
    benchmark.pedantic(physattn_step, setup=time_references, rounds=ROUNDS[n_cells], warmup_rounds=warmup)
    if benchmark.disabled:  # --benchmark-disable: one untimed step of each, nothing to report
        return
    t = {name: float(np.median(ts[warmup:])) for name, ts in seconds.items()}
    t["physattn"] = benchmark.stats.stats.median
    benchmark.extra_info.update({
        "n_cells": n_cells, "edges_per_cell": b.edge_index.shape[1] / b.n_nodes,
        **{f"{name}_frames_per_s": BATCH_FRAMES / s for name, s in t.items()},
        "physattn_over_transformer_time": t["physattn"] / t["transformer"],
        "physattn_over_bare_time": t["physattn"] / t["bare"],
        "torch_threads": torch.get_num_threads(), "torch": torch.__version__, **machine_info(),
    })
    print(f"\n{n_cells} cells/frame, frames/s: bare TransformerConv stack {BATCH_FRAMES / t['bare']:.1f}, "
          f"transformer network (with LSTM) {BATCH_FRAMES / t['transformer']:.1f}, physattn {BATCH_FRAMES / t['physattn']:.1f}; "
          f"time ratio physattn/transformer {t['physattn'] / t['transformer']:.3f} (the goal: <= 1.15), "
          f"physattn/bare {t['physattn'] / t['bare']:.3f} (CPU {machine_info()['cpu_model']}, "
          f"{torch.get_num_threads()} torch thread(s), torch {torch.__version__})")


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
    if benchmark.disabled:
        return
    benchmark.extra_info["seconds"] = benchmark.stats.stats.median
    print(f"\n10,000 cells, one frame, forward+backward: {benchmark.stats.stats.median:.3f} s")
