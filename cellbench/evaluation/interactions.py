r"""Kernel recovery on simulated data: does a model's attention follow the true pair forces?

Inputs are an attention table (one row per real edge :math:`i \to j` of the scored frames: seq,
frame, source_track, target_track, r_um, alpha columns) and the simulator's pair table (frame,
i, j track ids, f_mag = :math:`|F_{ij}|`, present for pairs inside the interaction cutoff). An
edge's true force is :math:`|F_{ij}|` when the pair is listed, else 0.

- ``spearman_force``: per target node j, Spearman correlation over its incoming edges of
  :math:`\alpha_{ij}` with :math:`|F_{ij}|`; mean over nodes with >= 3 incoming edges and
  non-constant forces.
- ``spearman_force_ref``: the same for the trivial score :math:`-r_{ij}` ("closer neighbours matter
  more"). Attention must beat it to mean anything.
- ``auroc_in_range`` (and ``_ref`` for :math:`-r_{ij}`): area under the ROC curve of the score for
  edges inside (:math:`r < r_\mathrm{int}`) vs outside the true interaction range, per target node
  with both kinds, averaged.
- ``recovered_range_um``: the largest distance bin centre (bins of ``r_cut / 20``) in which the mean
  relative attention :math:`\alpha_{ij} |\mathcal N(j)|` is still >= 1 (above uniform), against
  ``true_range_um``.

:func:`kernel_recovery_all` gives these numbers for ``metrics.json``: mean over the sequences
of a dataset, for attention blocks 1 and 2 and for the prior.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def edge_forces(att: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
    r"""True pair-force magnitude :math:`|F_{ij}|` of every edge of an attention table.

    Parameters
    ----------
    att : DataFrame with n_edges rows and columns ``frame``, ``source_track``, ``target_track``
        (one sequence: edges are matched on the frame and the unordered pair of track ids).
    pairs : DataFrame, the simulator's pair table, n_pairs rows: ``frame``, ``i``, ``j`` (track
        ids), ``f_mag`` (force magnitude, kT/um), for pairs inside the interaction cutoff.

    Returns
    -------
    (n_edges,) array, kT/um: :math:`|F_{ij}|` when the pair is listed (the first listing of a
    duplicated pair), else 0.
    """
    a = np.minimum(att["source_track"].to_numpy(), att["target_track"].to_numpy())
    b = np.maximum(att["source_track"].to_numpy(), att["target_track"].to_numpy())
    key = pd.MultiIndex.from_arrays([att["frame"].to_numpy(), a, b])
    pi, pj = pairs["i"].to_numpy(), pairs["j"].to_numpy()
    pk = pd.MultiIndex.from_arrays([pairs["frame"].to_numpy(), np.minimum(pi, pj), np.maximum(pi, pj)])
    f = pd.Series(np.abs(pairs["f_mag"].to_numpy(dtype=float)), index=pk)
    f = f[~f.index.duplicated()]
    return f.reindex(key).fillna(0.0).to_numpy()


def per_node_spearman(group: np.ndarray, score: np.ndarray, truth: np.ndarray, min_edges: int = 3) -> float:
    r"""Spearman correlation of ``score`` with ``truth`` over each node's incoming edges, averaged over nodes.

    Parameters
    ----------
    group : (n_edges,) int array, the receiving node of each edge (one id per seq, frame, target).
    score : (n_edges,) array, e.g. attention :math:`\alpha_{ij}` or :math:`-r_{ij}`.
    truth : (n_edges,) array, e.g. :math:`|F_{ij}|` in kT/um.
    min_edges : nodes with fewer incoming edges are skipped, as are nodes whose score or truth is
        constant over their edges.

    Returns
    -------
    float in [-1, 1] (ties take their mean rank); NaN when no node qualifies.
    """
    df = pd.DataFrame({"g": group, "s": score, "t": truth})
    df["rs"] = df.groupby("g")["s"].rank()
    df["rt"] = df.groupby("g")["t"].rank()
    g = df.groupby("g")
    n = g.size()
    cs = g["rs"].transform("mean")
    ct = g["rt"].transform("mean")
    df["xy"] = (df["rs"] - cs) * (df["rt"] - ct)
    df["xx"] = (df["rs"] - cs) ** 2
    df["yy"] = (df["rt"] - ct) ** 2
    s = df.groupby("g")[["xy", "xx", "yy"]].sum()
    ok = (n >= min_edges) & (s["yy"] > 0) & (s["xx"] > 0)
    if not ok.any():
        return float("nan")
    rho = s["xy"][ok] / np.sqrt(s["xx"][ok] * s["yy"][ok])
    return float(rho.mean())


def per_node_auroc(group: np.ndarray, score: np.ndarray, positive: np.ndarray) -> float:
    """Area under the ROC curve of ``score`` separating positive from negative edges, per node, averaged.

    Parameters
    ----------
    group : (n_edges,) int array, the receiving node of each edge.
    score : (n_edges,) array; higher should mean positive.
    positive : (n_edges,) bool array, e.g. the edge lies inside the true interaction range.

    Returns
    -------
    float in [0, 1] (Mann-Whitney, ties count half), 0.5 for a random score, over nodes with both
    kinds of edge; NaN when no node has both.
    """
    df = pd.DataFrame({"g": group, "s": score, "p": positive.astype(float)})
    df["r"] = df.groupby("g")["s"].rank()
    g = df.groupby("g")
    n_pos = g["p"].sum()
    n = g.size()
    n_neg = n - n_pos
    rank_pos = (df["r"] * df["p"]).groupby(df["g"]).sum()
    ok = (n_pos > 0) & (n_neg > 0)
    if not ok.any():
        return float("nan")
    auc = (rank_pos[ok] - n_pos[ok] * (n_pos[ok] + 1) / 2) / (n_pos[ok] * n_neg[ok])
    return float(auc.mean())


def recovered_range_um(r_um: np.ndarray, rel_attention: np.ndarray, r_cut_um: float, n_bins: int = 20) -> float:
    r"""The distance up to which attention stays above uniform.

    Parameters
    ----------
    r_um : (n_edges,) array, edge lengths, um.
    rel_attention : (n_edges,) array, :math:`\alpha_{ij} |\mathcal N(j)|` (1 = uniform attention).
    r_cut_um : graph radius, um; split into ``n_bins`` equal distance bins.

    Returns
    -------
    float, um: the centre of the farthest bin whose mean relative attention is >= 1; NaN when none.
    """
    edges = np.linspace(0, r_cut_um, n_bins + 1)
    idx = np.clip(np.digitize(r_um, edges) - 1, 0, n_bins - 1)
    sums = np.bincount(idx, rel_attention, n_bins)
    cnt = np.bincount(idx, minlength=n_bins)
    mean = np.where(cnt > 0, sums / np.maximum(cnt, 1), np.nan)
    above = np.flatnonzero(mean >= 1.0)
    return float(0.5 * (edges[above[-1]] + edges[above[-1] + 1])) if len(above) else float("nan")


def kernel_recovery(att: pd.DataFrame, pairs: pd.DataFrame, true_range_um: float, r_cut_um: float,
                    alpha_columns: list[str] | None = None) -> dict:
    """The metrics of the module docstring for the head mean of ``alpha_columns``, one sequence.

    Parameters
    ----------
    att : attention table of one sequence, n_edges rows (columns in the module docstring).
    pairs : the simulator's pair table of that sequence (see :func:`edge_forces`).
    true_range_um : the potential's interaction cutoff, um.
    r_cut_um : the model's graph radius, um.
    alpha_columns : attention columns to average (default: block 1's heads, ``alpha_b1_*``).

    Returns
    -------
    dict: ``spearman_force``, ``spearman_force_ref``, ``auroc_in_range``, ``auroc_in_range_ref``,
    ``recovered_range_um``, ``true_range_um``, ``n_edges`` and ``attention`` (which columns).
    """
    if alpha_columns is None:
        alpha_columns = [c for c in att.columns if c.startswith("alpha_b1_")]
    alpha = att[alpha_columns].to_numpy().mean(axis=1)
    group = pd.factorize(pd.MultiIndex.from_arrays([att["seq"], att["frame"], att["target_track"]]))[0]
    force = edge_forces(att, pairs)
    r = att["r_um"].to_numpy()
    inside = r < true_range_um
    deg = np.bincount(group)[group]
    return {
        "spearman_force": per_node_spearman(group, alpha, force),
        "spearman_force_ref": per_node_spearman(group, -r, force),
        "auroc_in_range": per_node_auroc(group, alpha, inside),
        "auroc_in_range_ref": per_node_auroc(group, -r, inside),
        "recovered_range_um": recovered_range_um(r, alpha * deg, r_cut_um),
        "true_range_um": float(true_range_um),
        "n_edges": int(len(att)),
        "attention": "+".join(alpha_columns) + " (head mean)",
    }


def true_range_um(truth) -> float:
    """The true interaction range of a :class:`~cellbench.runs.simulated.SimTruth`, um.

    The potential's cutoff when it has one, else the longest listed pair; NaN without pairs.
    """
    r = truth.interaction_cutoff_um
    if r is not None:
        return r
    return float(truth.pairs["r_um"].max()) if len(truth.pairs) else float("nan")


def kernel_recovery_all(att: pd.DataFrame, data, model) -> dict:
    """Kernel recovery of attention blocks 1 and 2 (head mean) and of the prior C~, mean over sequences.

    Parameters
    ----------
    att : attention table of the scored frames, all sequences (``seq`` column), n_edges rows.
    data : the :class:`~cellbench.data.dataset.Dataset`; sequences without truth are skipped.
    model : the fitted learned model (``r_cut_um`` and, with a prior, ``prior.prior.r_cut_um``).

    Returns
    -------
    dict: the keys of :func:`kernel_recovery`, plus ``spearman_force_block2`` and
    ``auroc_in_range_block2`` when a second block exists, and ``spearman_force_prior``,
    ``auroc_in_range_prior``, ``prior_range_um`` (um) when the model has a prior; numbers are
    NaN-means over sequences, other values those of the first sequence. Empty without truth.
    """
    per_seq = []
    for si, s in enumerate(data.seqs):
        a = att[att["seq"] == si]
        if s.truth is None or len(a) == 0:
            continue
        rng = true_range_um(s.truth)
        res = kernel_recovery(a, s.truth.pairs, rng, model.r_cut_um)
        b2 = [c for c in a.columns if c.startswith("alpha_b2_")]
        if b2:
            res2 = kernel_recovery(a, s.truth.pairs, rng, model.r_cut_um, b2)
            res["spearman_force_block2"] = res2["spearman_force"]
            res["auroc_in_range_block2"] = res2["auroc_in_range"]
        if getattr(model, "prior", None) is not None:
            resp = kernel_recovery(a.assign(alpha_prior=a["c_tilde"]), s.truth.pairs, rng, model.r_cut_um, ["alpha_prior"])
            res["spearman_force_prior"] = resp["spearman_force"]
            res["auroc_in_range_prior"] = resp["auroc_in_range"]
            res["prior_range_um"] = float(model.prior.prior.r_cut_um)
        per_seq.append(res)
    if not per_seq:
        return {}
    out = {}
    for k, v in per_seq[0].items():
        vals = [r[k] for r in per_seq if k in r]
        out[k] = float(np.nanmean(vals)) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
    return out
