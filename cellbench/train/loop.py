r"""The one training loop shared by every learned model.

Loss (the paper's eq. 5 and 6), on standardized targets:

.. math::
    \mathcal L = \frac{1}{\sum m} \sum_{i,t} m_i^t\, \frac12 \sum_{d \in \{x,y\}}
    \left[\frac{(y_{i,d}^t - \mu_{i,d}^t)^2}{\sigma_{i,d}^2} + \log \sigma_{i,d}^2\right]
    + \eta_\mathrm{KL}(s)\, \mathrm{KL}(\alpha \,\|\, \pi)

with :math:`m` the mask of valid *training* targets, :math:`\sigma^2 = 1` unless the model is
heteroscedastic, and the KL term of :func:`~cellbench.models.physattn_conv.kl_to_prior` averaged
over the graph blocks, switched on when the model returns attention and a prior weight is
given. :math:`\eta_\mathrm{KL}(s) = \eta_\max \cdot \frac12 (1 - \cos(\pi \min(s / s_w, 1)))`
rises smoothly from 0 over the first ``warmup_fraction`` of the optimizer steps.

Batches: the training frames of all sequences are laid end to end and cut into
``lanes`` contiguous streams; a batch holds the next frame of every lane (one disjoint graph),
the LSTM state of each lane is carried from frame to frame and detached every ``bptt_frames``
frames (truncated backpropagation through time). Adam; early stopping on the validation NLL of
a full causal pass (:func:`rollout`); the best state is kept.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from cellbench.inputs.batching import SPLIT_CODE, FrameData, collate
from cellbench.errors import ConfigError
from cellbench.io import write_atomic_with
from cellbench.models.physattn_conv import PriorKL, prior_distribution
from cellbench.train.device import check_device, resolve_device


TORCH_THREADS = 1
"""Torch intra-op threads while training and predicting. The graphs here are small (hundreds of
cells per frame); on a shared 2-core machine two OpenMP threads spin against other processes and
ran 65x slower than one in our measurement (benchmarks/bench_models.py), for a gain of at most
~1.3x on an idle machine."""


class _threads:
    """Context: run with ``n`` torch threads, restore the previous number afterwards."""

    def __init__(self, n: int):
        self.n = n

    def __enter__(self):
        self.prev = torch.get_num_threads()
        torch.set_num_threads(self.n)

    def __exit__(self, *exc):
        torch.set_num_threads(self.prev)


@dataclass(frozen=True)
class TrainConfig:
    """Options of :func:`fit` (saved in config.json).

    epochs : maximum passes over the training frames. lr : Adam learning rate.
    lanes : frames per batch (parallel streams). bptt_frames : frames between detaches.
    patience : epochs without a better validation NLL before stopping.
    eta_max : final weight of KL(alpha || pi); 0 disables it. warmup_fraction : share of the
    steps over which eta rises. kl_reduce : 'mean' or 'sum' (eq. 6 as written) within each target's edges.
    grad_clip : max gradient norm. progress : show a progress bar over epochs.
    device : ``'auto'``, ``'cpu'`` or ``'cuda'`` (:mod:`cellbench.train.device`); not part of a
    run's identity (a run passes it like ``progress``), recorded in its metrics.
    """

    epochs: int = 60
    lr: float = 5e-3
    lanes: int = 4
    bptt_frames: int = 4
    patience: int = 6
    eta_max: float = 0.0
    warmup_fraction: float = 0.3
    kl_reduce: str = "mean"
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    progress: bool = False
    device: str = "cpu"

    def __post_init__(self):
        if self.epochs < 1:
            raise ConfigError(f"--epochs {self.epochs}: must be >= 1")
        if self.eta_max < 0:
            raise ConfigError(f"--eta-max {self.eta_max}: must be >= 0")
        if self.kl_reduce not in ("mean", "sum"):
            raise ConfigError(f"kl_reduce {self.kl_reduce!r}: choose 'mean' or 'sum'")
        check_device(self.device)


@dataclass
class TrainResult:
    """The training history of :func:`fit`.

    best_state : state_dict of the best validation epoch. best_epoch : its index (-1: the
    starting weights). history : one dict per epoch (train_nll, train_kl, val_nll, eta_kl,
    seconds). seconds : wall time of the whole fit.
    """

    best_state: dict
    best_epoch: int
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


def gaussian_nll(mu: Tensor, log_var: Tensor | None, y: Tensor) -> Tensor:
    r"""Per node :math:`\frac12 \sum_d [(y_d - \mu_d)^2 / \sigma_d^2 + \log \sigma_d^2]`, shape (n_nodes,)."""
    if log_var is None:
        return 0.5 * ((y - mu) ** 2).sum(dim=1)
    return 0.5 * ((y - mu) ** 2 * torch.exp(-log_var) + log_var).sum(dim=1)


def eta_schedule(step: int, total_steps: int, eta_max: float, warmup_fraction: float) -> float:
    """Smooth (half-cosine) rise of the KL weight from 0 to ``eta_max``."""
    if eta_max == 0:
        return 0.0
    warm = max(1.0, warmup_fraction * total_steps)
    u = min(step / warm, 1.0)
    return float(eta_max * 0.5 * (1.0 - math.cos(math.pi * u)))


def attention_kl(attention: list[Tensor], batch, gamma: float, reduce: str = "mean",
                 c_tilde: Tensor | None = None) -> Tensor:
    """KL(alpha || pi) averaged over graph blocks; self-loop-only nodes are left out.

    ``c_tilde`` (n_edges,): the prior values pi is built from, default ``batch.c_tilde``; a model
    with ``prior_edge_values(batch)`` (physattn) gives the values its logits use.
    """
    target = batch.edge_index[1]
    pi = prior_distribution(batch.c_tilde if c_tilde is None else c_tilde, target, batch.n_nodes, gamma)
    kl = PriorKL(pi, target, batch.n_nodes, batch.has_neighbour, reduce)  # pi's share once, not per block
    return torch.stack([kl(a) for a in attention]).mean()


def training_lanes(frames: list[list[FrameData]], n_lanes: int) -> list[list[tuple[int, int]]]:
    """Cut the frames holding training targets into ``n_lanes`` contiguous streams of (seq, frame position).

    Frames from the first training frame to the last one of each sequence are kept (history
    inside the block is continuous). Small-data studies shrink the training block itself
    (:func:`cellbench.data.splits.shrink_train`), so every model sees the same frames.
    """
    steps = []
    for si, seq in enumerate(frames):
        has_train = [k for k, f in enumerate(seq) if bool((f.split == SPLIT_CODE["train"]).any())]
        if not has_train:
            continue
        a, b = has_train[0], has_train[-1] + 1
        steps += [(si, k) for k in range(a, b)]
    if not steps:
        raise ConfigError("no frame holds a training target")
    n_lanes = max(1, min(n_lanes, len(steps)))
    length = math.ceil(len(steps) / n_lanes)
    return [steps[i * length:(i + 1) * length] for i in range(n_lanes) if steps[i * length:(i + 1) * length]]


def rollout(*args, **kwargs):
    """:func:`_rollout` with :data:`TORCH_THREADS` threads (see there)."""
    with _threads(TORCH_THREADS):
        return _rollout(*args, **kwargs)


@torch.no_grad()
def _rollout(model, frames: list[list[FrameData]], stop: list[int] | None = None, keep_attention: bool = False,
            start: list[int] | None = None, state=None):
    """A causal pass over sequences (one lane each), state carried from frame ``start`` (default the first).

    Parameters
    ----------
    stop : per sequence, the number of frames to run (default all).
    start : per sequence, the first frame position to run (zero state there); outputs before it are absent.
    state : the state carried in (default ``model.new_state()``: zero for every track), updated in place.

    Returns
    -------
    Per sequence, a list per frame of ``(mu, log_var, attention)`` numpy arrays (standardized units;
    log_var None when homoscedastic; attention a list per block of (n_edges, heads) or None).
    """
    model.eval()
    device = next(model.parameters()).device
    stop = stop or [len(s) for s in frames]
    start = start or [0] * len(frames)
    state = model.new_state() if state is None else state
    out: list[list] = [[] for _ in frames]
    for k in range(min(start, default=0), max(stop, default=0)):
        lanes = [si for si in range(len(frames)) if start[si] <= k < stop[si]]
        if not lanes:
            continue
        batch = collate([frames[si][k] for si in lanes], lanes).to(device)
        pred = model(batch, state, return_attention=keep_attention)
        mu = pred.mu.cpu().numpy()
        log_var = None if pred.log_var is None else pred.log_var.cpu().numpy()
        attention = None if pred.attention is None else [x.cpu().numpy() for x in pred.attention]
        for j, si in enumerate(lanes):
            a, b = batch.frame_ptr[j], batch.frame_ptr[j + 1]
            ea, eb = batch.edge_ptr[j], batch.edge_ptr[j + 1]
            att = None if attention is None else [x[ea:eb] for x in attention]
            out[si].append((mu[a:b], None if log_var is None else log_var[a:b], att))
    return out


def split_nll(model, frames: list[list[FrameData]], split: str, burn_in_frames: int = 16) -> float:
    """Mean Gaussian NLL (standardized units, no constant) of a causal pass on ``split``'s targets.

    The pass starts ``burn_in_frames`` before the split's first frame in each sequence (zero state
    there, inputs still from frames <= t only): cheap enough for every epoch's early stopping.
    """
    code = SPLIT_CODE[split]
    stop, start = [], []
    for seq in frames:
        ks = [k for k, f in enumerate(seq) if bool((f.split == code).any())]
        stop.append(ks[-1] + 1 if ks else 0)
        start.append(max(0, ks[0] - burn_in_frames) if ks else 0)
    if not any(stop):
        return float("nan")
    outs = rollout(model, frames, stop, start=start)
    total, n = 0.0, 0
    for seq, res, a in zip(frames, outs, start):
        for f, (mu, lv, _) in zip(seq[a:], res):
            m = (f.split == code).numpy()
            if m.any():
                nll = gaussian_nll(torch.from_numpy(mu[m]), None if lv is None else torch.from_numpy(lv[m]), f.y[m])
                total += float(nll.sum())
                n += int(m.sum())
    return total / max(n, 1)


def fit(model, frames: list[list[FrameData]], cfg: TrainConfig, seed: int, kl_gamma: float | None = None,
        on_epoch: Callable[[dict], None] | None = None, init_state: dict | None = None) -> TrainResult:
    """The one training loop (:func:`_fit`, documented there), run with :data:`TORCH_THREADS` threads."""
    with _threads(TORCH_THREADS):
        return _fit(model, frames, cfg, seed, kl_gamma, on_epoch, init_state)


def load_init_state(model, init_state: dict) -> None:
    """Load a pretrained ``state_dict`` into ``model`` (fine-tuning); a mismatch names both shapes.

    Raises :class:`~cellbench.errors.ConfigError` when a parameter is missing, extra or of another
    shape (e.g. pretrained with other node features or another hidden size).
    """
    own = model.state_dict()
    missing, extra = sorted(set(own) - set(init_state)), sorted(set(init_state) - set(own))
    if missing or extra:
        raise ConfigError(f"pretrained weights do not fit the model: missing {missing[:5]}, unexpected {extra[:5]}")
    for name, value in init_state.items():
        if tuple(value.shape) != tuple(own[name].shape):
            raise ConfigError(f"pretrained weights do not fit the model: {name} has shape {tuple(value.shape)} "
                              f"in the pretrained state and {tuple(own[name].shape)} in the model")
    model.load_state_dict(init_state)


def _fit(model, frames: list[list[FrameData]], cfg: TrainConfig, seed: int, kl_gamma: float | None = None,
         on_epoch: Callable[[dict], None] | None = None, init_state: dict | None = None) -> TrainResult:
    """Train ``model`` on the training targets of ``frames``; early-stop on validation NLL.

    Parameters
    ----------
    model : a :class:`~cellbench.models.net.GraphTemporalNet` (any subclass).
    frames : from :func:`cellbench.inputs.batching.build_frames`.
    kl_gamma : the gamma of the prior distribution pi; None (or ``cfg.eta_max == 0``) disables KL.
    on_epoch : called with each epoch's history row.
    init_state : optional ``state_dict`` to start from instead of the model's fresh weights
        (fine-tuning a pretrained model; see :func:`load_init_state`). The optimizer starts fresh.

    Returns
    -------
    :class:`TrainResult`; ``model`` is left holding the best state. With ``init_state`` and a
    validation split, the starting weights compete too (``best_epoch`` -1 when no epoch beat them).
    """
    seed_everything(seed)
    if init_state is not None:
        load_init_state(model, init_state)
    device = resolve_device(cfg.device)
    model.to(device)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    lanes = training_lanes(frames, cfg.lanes)
    steps_per_epoch = math.ceil(max(len(l) for l in lanes) / cfg.bptt_frames)
    total_steps = steps_per_epoch * cfg.epochs
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    use_kl = kl_gamma is not None and cfg.eta_max > 0
    prior_values = getattr(model, "prior_edge_values", None)  # the prior the model's logits see, if it says
    has_val = any(bool((f.split == SPLIT_CODE["val"]).any()) for seq in frames for f in seq)
    best = (math.inf, -1, cpu_state(model))
    if init_state is not None and has_val:
        best = (split_nll(model, frames, "val"), -1, best[2])  # the pretrained weights are a candidate too
    history: list[dict] = []
    step = 0
    train_code = SPLIT_CODE["train"]

    progress = None
    if cfg.progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        progress = Progress(TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                            TextColumn("{task.fields[info]}"), transient=False)
        progress.start()
        task = progress.add_task("epochs", total=cfg.epochs, info="")
    try:
        for epoch in range(cfg.epochs):
            model.train()
            # a random start offset per lane varies where the windows are cut
            offsets = [int(rng.integers(0, max(1, min(cfg.bptt_frames, len(l))))) for l in lanes]
            epoch_lanes = [l[o:] for l, o in zip(lanes, offsets)]
            state = model.new_state()
            sums = {"nll": 0.0, "kl": 0.0, "n": 0, "n_kl": 0}
            length = max(len(l) for l in epoch_lanes)
            for w0 in range(0, length, cfg.bptt_frames):
                eta = eta_schedule(step, total_steps, cfg.eta_max, cfg.warmup_fraction) if use_kl else 0.0
                nll_sum, n_valid = 0.0, 0
                kl_terms = []
                for k in range(w0, min(w0 + cfg.bptt_frames, length)):
                    active = [li for li, l in enumerate(epoch_lanes) if k < len(l)]
                    batch = collate([frames[epoch_lanes[li][k][0]][epoch_lanes[li][k][1]] for li in active],
                                    [li * len(frames) + epoch_lanes[li][k][0] for li in active]).to(device)
                    pred = model(batch, state, return_attention=use_kl)
                    m = batch.split == train_code
                    if bool(m.any()):
                        nll = gaussian_nll(pred.mu[m], None if pred.log_var is None else pred.log_var[m], batch.y[m])
                        nll_sum = nll_sum + nll.sum()
                        n_valid += int(m.sum())
                    if use_kl and pred.attention:
                        kl_terms.append(attention_kl(pred.attention, batch, kl_gamma, cfg.kl_reduce,
                                                     None if prior_values is None else prior_values(batch)))
                if n_valid == 0 and not kl_terms:
                    state.detach()
                    continue
                loss = nll_sum / max(n_valid, 1)
                kl = torch.stack(kl_terms).mean() if kl_terms else None
                if kl is not None:
                    loss = loss + eta * kl
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if cfg.grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                opt.step()
                state.detach()
                step += 1
                sums["nll"] += float(nll_sum.detach()) if n_valid else 0.0
                sums["n"] += n_valid
                if kl is not None:
                    sums["kl"] += float(kl.detach())
                    sums["n_kl"] += 1
            val = split_nll(model, frames, "val") if has_val else float("nan")
            row = {"epoch": epoch, "train_nll": sums["nll"] / max(sums["n"], 1),
                   "train_kl": sums["kl"] / sums["n_kl"] if sums["n_kl"] else None,
                   "val_nll": val, "eta_kl": eta_schedule(step, total_steps, cfg.eta_max, cfg.warmup_fraction) if use_kl else 0.0,
                   "seconds": time.perf_counter() - t0}
            history.append(row)
            score = val if has_val else row["train_nll"]
            if score < best[0]:
                best = (score, epoch, cpu_state(model))
            if on_epoch is not None:
                on_epoch(row)
            if progress is not None:
                progress.update(task, advance=1, info=f"train NLL {row['train_nll']:.4f}  val NLL {val:.4f}  best epoch {best[1]}")
            if epoch - best[1] >= cfg.patience:
                break
    finally:
        if progress is not None:
            progress.stop()
    model.load_state_dict(best[2])
    return TrainResult(best[2], best[1], history, time.perf_counter() - t0)


def cpu_state(model) -> dict:
    """A copy of ``model``'s ``state_dict`` on the CPU (checkpoints and the best epoch are kept there)."""
    return {name: value.detach().to("cpu", copy=True) for name, value in model.state_dict().items()}


def save_checkpoint(path: Path, state_dict: dict) -> None:
    """Write a state_dict (tensors only, loadable with ``torch.load(..., weights_only=True)``) atomically."""
    write_atomic_with(Path(path), lambda tmp: torch.save(state_dict, tmp))


def load_checkpoint(path: Path) -> dict:
    return torch.load(Path(path), map_location="cpu", weights_only=True)
