r"""The :class:`~cellbench.models.registry.Predictor` wrapper shared by every learned model.

``LearnedModel(net, ...)`` turns a network class (a :class:`~cellbench.models.net.GraphTemporalNet`
subclass, the factory of a ``'learned'`` registry entry) into a predictor. In ``fit(data, seed)``:

1. the graph radius (``r_cut_um``; else by ``r_cut_rule`` on the training frames) and the target
   scaler, from training targets only; the optional inputs (``edge_features``, ``absolute_position``,
   ``wall_features``) with every value they need fixed from the training frames;
2. for a network that takes the prior (``supports_edge_bias``, e.g. ``physattn``), the prior
   :math:`\tilde C(r)` estimated from the training frames only (:mod:`cellbench.prior.edges`);
3. the frames as tensors (:func:`cellbench.inputs.batching.build_frames`);
4. the network, and :func:`cellbench.train.loop.fit`, the one training loop.

``predict(data)`` runs one causal pass (:func:`cellbench.train.loop.rollout`) over every sequence
and returns displacements in um per frame. ``rollout_session()`` gives a :class:`RolloutSession`:
the same pass carried across calls, one new frame at a time (the stateful path of
:func:`cellbench.evaluation.rollouts.rollout_positions`). Simulator truth (``Sequence.truth``) never
reaches the network: only the graph report (:meth:`LearnedModel.config`) reads the potential's cutoff from it.

The paper's setting (section 3: edges carry :math:`r_{ij}`, nodes carry the absolute position, the
prior estimator chooses :math:`r_\mathrm{cut}`) is the option set :data:`PAPER_SETTING`; the
defaults are the benchmark's richer inputs (radial-basis edges, no position, 2.5 NN distances).
"""

from __future__ import annotations

from dataclasses import asdict, replace

import numpy as np

from cellbench.data.dataset import Dataset
from cellbench.data.splits import frames_of
from cellbench.errors import ConfigError
from cellbench.inputs.batching import (EDGE_DIMS, FeatureOptions, TargetScaler, build_frames, node_feature_names,
                                      position_bounds_um)
from cellbench.inputs.graphs import Boundaries, Disk, default_r_cut_um, microwell_disk, pairs_beyond_cut
from cellbench.models.net import GraphTemporalNet, NetConfig
from cellbench.train.loop import TrainConfig, TrainResult, fit, rollout, seed_everything

PRIOR_TRANSFORMS = ("signed", "abs")
R_CUT_RULES = ("nn", "prior")
WALL_FEATURES = ("off", "auto", "on")
PAPER_SETTING = {"edge_features": "r_only", "absolute_position": True, "r_cut_rule": "prior"}
"""The paper's inputs (section 3) as LearnedModel options: a sweep variant ``[models.physattn]``."""


class LearnedModel:
    r"""A learned predictor: a :class:`~cellbench.models.net.GraphTemporalNet` trained by :func:`cellbench.train.loop.fit`.

    Build one by name with :func:`cellbench.train.build.build`, which applies the registry's
    defaults (e.g. physattn's gamma and eta_max).

    Parameters
    ----------
    net : the network class, e.g. :class:`~cellbench.models.physattn.PhysAttnNet`. Its flag
        ``supports_edge_bias`` decides whether a prior is estimated (and the KL term can switch on);
        without it the prior options below are ignored and ``eta_max`` is 0.
    hidden, heads, gamma, heteroscedastic : architecture (:class:`NetConfig`).
    n_lags : past displacements in the node features.
    r_cut_um : graph radius in um (default: from the training frames).
    prior_transform : ``'signed'`` (the paper's signed :math:`\tilde C`) or ``'abs'`` (its magnitude).
    prior_bias : networks with a prior only. True (the paper): :math:`\gamma \tilde C_{ij}` is added to the
        attention logits (eq. 5). False: the logits are plain TransformerConv's and the prior acts
        only through the KL term toward :math:`\pi = \operatorname{softmax}(\gamma \tilde C)`
        (eq. 4, same gamma), the "KL only" ablation. (Setting gamma = 0 instead would also make
        :math:`\pi` uniform: KL toward uniform attention, not toward the prior.)
    train : :class:`~cellbench.train.loop.TrainConfig` options (epochs, lr, eta_max, kl_reduce, ...).
    prior_scale, learn_gamma, gamma_init : networks with a prior only, passed to the network
        (:class:`~cellbench.models.physattn.PhysAttnNet`): ``'standardized'`` z-scores C~ per frame,
        ``learn_gamma`` learns the prior's weight per head and block from ``gamma_init``; the scale
        training chose is in :meth:`config` (``prior_scale``).
    edge_features : ``'rbf'`` (default: relative position, distance and a radial basis) or ``'r_only'``
        (the distance over r_cut, one column); the conv's ``edge_dim`` follows
        (:data:`~cellbench.inputs.batching.EDGE_DIMS`).
    absolute_position : add x, y scaled to [0, 1] by the bounding box of the training frames' positions
        (pooled over sequences; clipped outside it). The box, not the metadata's field of view: TrackMate
        files carry none, and one rule serves simulated and real data.
    r_cut_rule : ``'nn'`` (default: 2.5 x the median nearest-neighbour distance) or ``'prior'`` (the
        interaction range :math:`r_\mathrm{cut}` the prior estimator chooses, 5% criterion on c(r), on the
        training frames). Used only without ``r_cut_um``. :meth:`config` reports what the cutoff cuts.
    wall_features : ``'off'`` (default), ``'on'`` or ``'auto'`` (on for microwell simulations): the signed
        distance to the region boundary over r_cut and the inward unit normal. The boundary is the well
        of a microwell simulation (its metadata), else a disk fitted to the sequence's training frames
        (:func:`cellbench.prior.window.fit_window`), stored by sequence name; any other sequence (one
        without training frames, or seen only at prediction) gets the disk of all training frames
        (:class:`~cellbench.inputs.graphs.Boundaries`). Not for data filling a periodic box. ``'auto'``
        is decided per fit: to pretrain on a microwell simulation and fine-tune on real data, use ``'on'``.

    A network takes only the options it lists in ``optional_inputs``
    (:class:`~cellbench.models.net.GraphTemporalNet`): egnn none, pairforce ``wall_features`` (its wall term).
    """

    uses_prior = False

    def __init__(self, net: type[GraphTemporalNet], hidden: int = 32, heads: int = 2, gamma: float = 1.0,
                 heteroscedastic: bool = False, n_lags: int = 2, r_cut_um: float | None = None,
                 prior_transform: str = "signed", prior_bias: bool = True, train: TrainConfig | dict | None = None,
                 prior_scale: str = "robust", learn_gamma: bool = False, gamma_init: float = 0.1,
                 edge_features: str = "rbf", absolute_position: bool = False, r_cut_rule: str = "nn",
                 wall_features: str = "off"):
        self.net_class = net
        self.conv = net.conv
        self.uses_prior = net.supports_edge_bias
        self.hidden, self.heads, self.gamma = hidden, heads, float(gamma)
        self.heteroscedastic = heteroscedastic
        self.n_lags = n_lags
        self.r_cut_um = r_cut_um
        if self.uses_prior and prior_transform not in PRIOR_TRANSFORMS:
            raise ConfigError(f"--prior-transform {prior_transform!r}: choose one of {PRIOR_TRANSFORMS}")
        self.prior_transform = prior_transform
        if not isinstance(prior_bias, bool):
            raise ConfigError(f"prior_bias {prior_bias!r}: must be true or false")
        self.prior_bias = prior_bias
        self.prior_options = {"prior_scale": prior_scale, "learn_gamma": learn_gamma, "gamma_init": float(gamma_init)}
        for name, value, allowed in (("edge_features", edge_features, tuple(EDGE_DIMS)), ("r_cut_rule", r_cut_rule,
                                     R_CUT_RULES), ("wall_features", wall_features, WALL_FEATURES)):
            if value not in allowed:
                raise ConfigError(f"{name} {value!r}: choose one of {list(allowed)}")
        if not isinstance(absolute_position, bool):
            raise ConfigError(f"absolute_position {absolute_position!r}: must be true or false")
        if r_cut_um is not None and r_cut_rule != "nn":
            raise ConfigError(f"r_cut_um {r_cut_um} and r_cut_rule {r_cut_rule!r} both choose the graph radius; "
                              "give one of them")
        self.edge_features, self.absolute_position = edge_features, absolute_position
        self.r_cut_rule, self.wall_features = r_cut_rule, wall_features
        self.features = FeatureOptions()
        self.graph_report: dict = {}
        if isinstance(train, dict):
            train = TrainConfig(**train)
        self.train_cfg = train or TrainConfig()
        if not self.uses_prior:
            self.train_cfg = replace(self.train_cfg, eta_max=0.0)
        self.prior = None
        self.fit_result: TrainResult | None = None
        self._frames_for = None

    # -- fitting -------------------------------------------------------------------------------
    def _frames(self, data: Dataset):
        if self._frames_for is not None and self._frames_for[0] is data:
            return self._frames_for[1]
        c_fn = self.prior.c_tilde if self.prior is not None else None
        frames = build_frames(data, self.r_cut_um, self.scaler, self.n_lags, c_fn, self.features)
        self._frames_for = (data, frames)
        return frames

    def fit(self, data: Dataset, seed: int = 0, on_epoch=None, init_state: dict | None = None) -> "LearnedModel":
        """Fit on ``data``'s training block; ``init_state``: pretrained weights to start from (fine-tuning)."""
        seed_everything(seed)
        train_frames = [(s.tracks, frames_of(data.blocks, i, "train")) for i, s in enumerate(data.seqs)]
        rule = "given" if self.r_cut_um is not None else self.r_cut_rule
        if self.r_cut_um is None:
            self.r_cut_um = self._prior_r_cut_um(train_frames) if rule == "prior" else default_r_cut_um(train_frames)
        self.graph_report = graph_report(data, train_frames, self.r_cut_um, rule)
        walls = self._walls(data, train_frames)
        self.features = FeatureOptions(self.edge_features,
                                       position_bounds_um(train_frames) if self.absolute_position else None, walls)
        refused = unread_inputs(self.net_class, self.features)
        if refused:
            raise ConfigError(f"{self.conv}: does not read {' or '.join(refused)} (it takes "
                              f"{list(self.net_class.optional_inputs) or 'none of the optional inputs'})")
        self.scaler = TargetScaler.fit(data)
        if self.uses_prior:
            from cellbench.prior.edges import edge_prior

            self.prior = edge_prior(train_frames, self.r_cut_um, self.prior_transform)
        frames = self._frames(data)
        has_radius = all("radius_um" in s.tracks.df.columns for s in data.seqs)
        names = node_feature_names(self.n_lags, has_radius, self.absolute_position, walls is not None)
        self.net_cfg = NetConfig(n_features=len(names), feature_names=tuple(names), hidden=self.hidden,
                                 heads=self.heads, gamma=self.gamma if self.uses_prior and self.prior_bias else 0.0,
                                 heteroscedastic=self.heteroscedastic, edge_dim=self.features.edge_dim)
        self.net = self.net_class(self.net_cfg, **self.prior_options) if self.uses_prior else self.net_class(self.net_cfg)
        kl_gamma = self.gamma if self.uses_prior else None
        self.fit_result = fit(self.net, frames, self.train_cfg, seed, kl_gamma=kl_gamma, on_epoch=on_epoch,
                              init_state=init_state)
        return self

    @staticmethod
    def _prior_r_cut_um(train_frames) -> float:
        """The prior estimator's interaction range on the training frames (as :mod:`cellbench.prior.edges`)."""
        from cellbench.prior import estimate_prior

        cut = [t.with_df(t.df[np.isin(t.df["frame"].to_numpy(), f)]) for t, f in train_frames if len(f)]
        return float(estimate_prior(cut).r_cut_um)

    def _walls(self, data: Dataset, train_frames) -> Boundaries | None:
        """The region boundaries, or None when wall features are off (see the class docstring)."""
        wells = [microwell_disk(s.tracks) for s in data.seqs]
        if self.wall_features == "off" or (self.wall_features == "auto" and not all(wells)):
            return None
        if any(s.tracks.periodic_box_um is not None for s in data.seqs):
            raise ConfigError("wall_features 'on': the data fill a periodic box, which has no boundary")
        from cellbench.prior.window import fit_window

        def disk(frames_um: list[np.ndarray], what: str) -> Disk:
            w = fit_window(frames_um, "disk")
            return Disk(w.center_um, w.radius_um, f"disk fitted to {what} training frames")

        pos = [t.positions_um()[np.isin(t.df["frame"].to_numpy(), f)] for t, f in train_frames]
        fitted = [(s.tracks.meta.dataset, disk([p], "the sequence's")) for s, w, p in zip(data.seqs, wells, pos)
                  if w is None and len(p) >= 2]
        return Boundaries(tuple(fitted), None if all(wells) else disk(pos, "all"))

    # -- prediction ----------------------------------------------------------------------------
    def rollout(self, data: Dataset, keep_attention: bool = False):
        """Per sequence, per frame: (frame data, mu, log_var, attention) in standardized units."""
        frames = self._frames(data)
        outs = rollout(self.net, frames, keep_attention=keep_attention)
        return [list(zip(fs, res)) for fs, res in zip(frames, outs)]

    def predict_with_sigma(self, data: Dataset) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
        """Mean (n_rows, 2) in um per frame per sequence, and sigma (n_rows, 2) in um when heteroscedastic."""
        mus, sigmas = [], []
        for s, seq in zip(data.seqs, self.rollout(data)):
            mu = np.zeros((s.tracks.n_rows, 2))
            sig = np.zeros((s.tracks.n_rows, 2))
            for f, (m, lv, _) in seq:
                mu[f.rows] = m * self.scaler.scale_um + self.scaler.mean_um
                if lv is not None:
                    sig[f.rows] = np.exp(0.5 * lv) * self.scaler.scale_um
            mus.append(mu)
            sigmas.append(sig)
        return mus, (sigmas if self.heteroscedastic else None)

    def predict(self, data: Dataset) -> list[np.ndarray]:
        return self.predict_with_sigma(data)[0]

    def rollout_session(self) -> "RolloutSession":
        """A fresh :class:`RolloutSession` of this fitted model (zero state, no lane seen yet)."""
        if getattr(self, "net", None) is None:
            raise RuntimeError(f"{self.conv}: fit the model before rolling it out")
        return RolloutSession(self)

    def attention_table(self, data: Dataset, split: str | None = None):
        """One row per real edge: seq, frame, source/target track ids, r_ij (um), C~, alpha per block and head.

        The pass is causal over whole sequences; with ``split`` only that split's frames are kept.
        None for models without attention.
        """
        import pandas as pd

        if not self.net.convs:
            return None
        parts = []
        for si, seq in enumerate(self.rollout(data, keep_attention=True)):
            keep = None if split is None else set(frames_of(data.blocks, si, split).tolist())
            for f, (_, _, att) in seq:
                if att is None:
                    return None
                if keep is not None and f.frame not in keep:
                    continue
                real = f.has_neighbour.numpy()[f.edge_index[1].numpy()]
                src, dst = f.edge_index.numpy()[:, real]
                cols = {"seq": si, "frame": f.frame, "source_track": f.track_id[src], "target_track": f.track_id[dst],
                        "r_um": f.d_um[real], "c_tilde": f.c_tilde.numpy()[real]}
                for b, a in enumerate(att):
                    for h in range(a.shape[1]):
                        cols[f"alpha_b{b + 1}_h{h + 1}"] = a[real, h]
                parts.append(pd.DataFrame(cols))
        return pd.concat(parts, ignore_index=True) if parts else None

    def config(self) -> dict:
        return {"conv": self.conv, "net": self.net_cfg.to_dict(), "train": asdict(self.train_cfg),
                "r_cut_um": self.r_cut_um, "n_lags": self.n_lags, "scaler": self.scaler.to_dict(),
                "prior_transform": self.prior_transform if self.uses_prior else None,
                "prior_bias": self.prior_bias if self.uses_prior else None,
                "prior": None if self.prior is None else self.prior.summary(),
                "prior_scale": self.net.prior_scale_report() if hasattr(self.net, "prior_scale_report") else None,
                "inputs": {"edge_features": self.edge_features, "absolute_position": self.absolute_position,
                           "position_bounds_um": self.features.position_bounds_um, "wall_features": self.wall_features,
                           "walls": None if self.features.walls is None else self.features.walls.to_dict()},
                "graph_report": self.graph_report}


class RolloutSession:
    r"""A causal pass of a fitted :class:`LearnedModel` carried across calls, one new frame at a time.

    The lanes are the sequences of the datasets given to :meth:`step`, by position (the same lanes in
    the same order at every call). The first call runs the network over every frame of each lane's
    table from zero state at the table's first frame; each later call runs it only over the frames
    newer than the last one the lane ran (in a rollout: the newest rolled frame), carrying each track's
    LSTM state by track id (:mod:`cellbench.models.temporal`). The earlier frames of a table only feed
    the lag features of the new ones, so a later table must hold the :attr:`history_frames` frames
    before its first new frame. The tables of one call are right-aligned (they end together) and
    stepped with one network call per frame position for all lanes; a lane with no frame at a position
    is not stepped there and, like a track absent from a frame, its tracks lose their state.

    When every lane advances by the same number of frames in every later call, the outputs equal (to
    float precision) those of :meth:`LearnedModel.predict` on the table made of the lane's first table
    followed by the new frames of its later ones, at the cost of building and running the new frames only.

    Attributes
    ----------
    history_frames : int, the frames before a frame that its node features read (the model's ``n_lags``).
    last_frame : {lane: the last frame it ran}.
    """

    def __init__(self, model: LearnedModel):
        self.model = model
        self.history_frames = int(model.n_lags)
        self.state = model.net.new_state()
        self.last_frame: dict[int, int] = {}

    def step_with_sigma(self, data: Dataset) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
        """Run the new frames of every lane; per lane, the predictions for the rows of its table's last frame.

        Returns
        -------
        (means, sigmas): per sequence of ``data``, an (n_last, 2) array in um per frame for the rows of
        the table's last frame, in table order (n_last = 0 when that frame is not newer than the last
        one the lane ran), and likewise sigma in um per frame when heteroscedastic, else None.
        """
        m = self.model
        first = [self.last_frame[i] + 1 if i in self.last_frame else None for i in range(len(data.seqs))]
        c_fn = m.prior.c_tilde if m.prior is not None else None
        frames = build_frames(data, m.r_cut_um, m.scaler, m.n_lags, c_fn, m.features, first_frames=first)
        n = max((len(f) for f in frames), default=0)
        outs = rollout(m.net, [[None] * (n - len(f)) + f for f in frames], start=[n - len(f) for f in frames],
                       state=self.state)
        mus, sigmas = [], []
        for i, (f, res) in enumerate(zip(frames, outs)):
            if not f:
                mus.append(np.zeros((0, 2)))
                sigmas.append(np.zeros((0, 2)))
                continue
            mu, log_var, _ = res[-1]
            self.last_frame[i] = f[-1].frame
            mus.append(mu * m.scaler.scale_um + m.scaler.mean_um)
            sigmas.append(np.zeros((len(mu), 2)) if log_var is None else np.exp(0.5 * log_var) * m.scaler.scale_um)
        return mus, (sigmas if m.heteroscedastic else None)

    def step(self, data: Dataset) -> list[np.ndarray]:
        """The means of :meth:`step_with_sigma`: per sequence, (n_last, 2) in um per frame."""
        return self.step_with_sigma(data)[0]


def unread_inputs(net_class, features: FeatureOptions) -> list[str]:
    """The optional inputs set in ``features`` that ``net_class`` does not list in ``optional_inputs``."""
    default = FeatureOptions()
    used = {"edge_features": features.edge_features != default.edge_features,
            "absolute_position": features.position_bounds_um is not None,
            "wall_features": features.walls is not None}
    return [name for name, on in used.items() if on and name not in net_class.optional_inputs]


def graph_report(data: Dataset, train_frames, r_cut_um: float, rule: str) -> dict:
    """What the graph radius cuts, on the training frames: the rule, the cutoff, and on simulated data
    the pairs within the potential's cutoff (``truth.meta['potential']['r_cut_um']``) that get no edge.

    Reads only the truth's metadata, and only for this report.
    """
    report = {"rule": rule, "r_cut_um": float(r_cut_um), "potential_r_cut_um": None, "interacting_pairs": None,
              "interacting_pairs_beyond_cut": None, "fraction_interacting_beyond_cut": None}
    meta = [getattr(s.truth, "meta", None) for s in data.seqs]
    r_pot = [((m or {}).get("potential") or {}).get("r_cut_um") if isinstance(m, dict) else None for m in meta]
    if any(r is None for r in r_pot):
        return report
    counts = np.array([pairs_beyond_cut([tf], r_cut_um, float(r)) for tf, r in zip(train_frames, r_pot)]).sum(axis=0)
    report.update(potential_r_cut_um=float(r_pot[0]) if len(set(r_pot)) == 1 else [float(r) for r in r_pot],
                  interacting_pairs=int(counts[0]), interacting_pairs_beyond_cut=int(counts[1]),
                  fraction_interacting_beyond_cut=float(counts[1] / counts[0]) if counts[0] else None)
    return report
