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
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _edge_forces(att: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
    a = np.minimum(att["source_track"].to_numpy(), att["target_track"].to_numpy())
    b = np.maximum(att["source_track"].to_numpy(), att["target_track"].to_numpy())
    key = pd.MultiIndex.from_arrays([att["frame"].to_numpy(), a, b])
    pi, pj = pairs["i"].to_numpy(), pairs["j"].to_numpy()
    pk = pd.MultiIndex.from_arrays([pairs["frame"].to_numpy(), np.minimum(pi, pj), np.maximum(pi, pj)])
    f = pd.Series(np.abs(pairs["f_mag"].to_numpy(dtype=float)), index=pk)
    f = f[~f.index.duplicated()]
    return f.reindex(key).fillna(0.0).to_numpy()


def _per_node_spearman(group: np.ndarray, score: np.ndarray, truth: np.ndarray, min_edges: int = 3) -> float:
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


def _per_node_auroc(group: np.ndarray, score: np.ndarray, positive: np.ndarray) -> float:
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
    """Largest bin centre where the mean of alpha * in-degree is >= 1 (attention above uniform)."""
    edges = np.linspace(0, r_cut_um, n_bins + 1)
    idx = np.clip(np.digitize(r_um, edges) - 1, 0, n_bins - 1)
    sums = np.bincount(idx, rel_attention, n_bins)
    cnt = np.bincount(idx, minlength=n_bins)
    mean = np.where(cnt > 0, sums / np.maximum(cnt, 1), np.nan)
    above = np.flatnonzero(mean >= 1.0)
    return float(0.5 * (edges[above[-1]] + edges[above[-1] + 1])) if len(above) else float("nan")


def kernel_recovery(att: pd.DataFrame, pairs: pd.DataFrame, true_range_um: float, r_cut_um: float,
                    alpha_columns: list[str] | None = None) -> dict:
    """The metrics of the module docstring for the head-mean of ``alpha_columns`` (default: block 1's heads)."""
    if alpha_columns is None:
        alpha_columns = [c for c in att.columns if c.startswith("alpha_b1_")]
    alpha = att[alpha_columns].to_numpy().mean(axis=1)
    group = pd.factorize(pd.MultiIndex.from_arrays([att["seq"], att["frame"], att["target_track"]]))[0]
    force = _edge_forces(att, pairs)
    r = att["r_um"].to_numpy()
    inside = r < true_range_um
    deg = np.bincount(group)[group]
    return {
        "spearman_force": _per_node_spearman(group, alpha, force),
        "spearman_force_ref": _per_node_spearman(group, -r, force),
        "auroc_in_range": _per_node_auroc(group, alpha, inside),
        "auroc_in_range_ref": _per_node_auroc(group, -r, inside),
        "recovered_range_um": recovered_range_um(r, alpha * deg, r_cut_um),
        "true_range_um": float(true_range_um),
        "n_edges": int(len(att)),
        "attention": "+".join(alpha_columns) + " (head mean)",
    }
