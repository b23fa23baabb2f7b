r"""The oracle's rollout: the noise-free dynamics over k frames from the recorded true state.

The ``oracle`` model predicts one frame from the true state (heading included); a table of
positions cannot carry that state, so it is not rolled out through ``predict``. Instead the
simulation of the sequence is replayed (:func:`cellbench.sim.replay.noise_free_paths`: same
config, seed and steps) to each start frame t0, and the whole system (unobserved cells included)
is integrated without noise for K frames. The oracle's predicted position of a rolled cell at
t0 + k is that path's position, without localization noise; the cells rule and the scoring are
those of every other model (:func:`cellbench.evaluation.rollouts.rolled_chains`). At k = 1 it is
the recorded ``oracle_dx_um, oracle_dy_um`` added to the true position, i.e. the oracle row.
"""

from __future__ import annotations

import numpy as np

from cellbench.data.dataset import Sequence
from cellbench.errors import ConfigError
from cellbench.evaluation.rollouts import Rollout, assemble_rollout, rolled_chains


def oracle_rollout(seq: Sequence, start_frames, horizon_frames: int) -> Rollout:
    """The oracle's :class:`Rollout` of one simulated sequence (``seq.truth.meta`` rebuilds the run)."""
    from cellbench.sim.replay import noise_free_paths

    meta = getattr(seq.truth, "meta", None)
    if not isinstance(meta, dict):
        raise ConfigError(f"{seq.tracks.meta.dataset}: the oracle rollout needs simulated data with truth")
    tracks = seq.tracks
    starts, K, chains = rolled_chains(tracks, start_frames, horizon_frames)
    paths = {p.start_frame: p for p in noise_free_paths(meta, starts, K)}
    ids = tracks.df["track_id"].to_numpy()
    pred = []
    for t0, c in zip(starts, chains):
        p = paths[int(t0)]
        order = np.argsort(p.track_id)
        want = ids[c[:, 0]]
        at = np.searchsorted(p.track_id[order], want)
        if np.any(at >= len(order)) or np.any(p.track_id[order][np.minimum(at, len(order) - 1)] != want):
            raise ConfigError(f"{tracks.meta.dataset} frame {t0}: tracked cells missing from the replayed "
                              "simulation (the tracks do not come from this run)")
        rows = order[at]
        out = np.empty((len(c), K + 1, 2))
        out[:, 0] = p.start_unwrap_um[rows]  # not scored; the path's start
        out[:, 1:] = p.pos_um[rows]
        pred.append(out)
    return assemble_rollout(tracks, starts, K, chains, pred)


__all__ = ["oracle_rollout"]
