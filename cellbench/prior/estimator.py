r"""The prior estimator: frames -> g(r) -> S(k) -> C(k) -> c(r) (the paper's section 4).

:class:`PriorEstimator` accumulates edge-corrected pair histograms over frames
(:func:`~cellbench.prior.structure.pair_histogram`, cell list, O(N) per frame; the window and its
overlap-area weights are in :mod:`cellbench.prior.window`) and chains the pure steps of
:mod:`cellbench.prior.correlation`: finite-N tail correction, :math:`S = 1 + \rho H`,
Ornstein-Zernike :math:`C = (1 - 1/S)/\rho`, the inverse Hankel transform to c(r) and the
interaction range. The automatic choice of every hyperparameter from training frames is
:func:`cellbench.prior.automatic.estimate_prior`.
"""

from __future__ import annotations

import numpy as np

from cellbench.errors import ConfigError
from cellbench.prior.correlation import (
    R_CUT_FRACTION,
    S_MIN,
    core_radius,
    direct_correlation_k,
    direct_correlation_r,
    finite_size_error_gain,
    finite_size_tail_correction,
    interaction_range,
    s0_resolution,
    s0_standard_error,
    shell_areas_um2,
    smooth_tail,
    structure_factor_from_h,
)
from cellbench.prior.result import Prior
from cellbench.prior.structure import pair_histogram
from cellbench.prior.window import Window

K_MAX_CORE_MULTIPLE = 40.0
"""k_max = 40 / r_core: the truncation error of c(r) for a steep core is ~0.7% there (6% at 20)."""
DK_R_MAX = np.pi / 4
"""k spacing = (pi/4) / r_c: 8 points per period of J0(k r_c), resolves H(k) of h truncated at r_c."""


class _Result:
    """A read-only result of :class:`PriorEstimator` (``AttributeError`` before any compute)."""

    def __init__(self, key: str, doc: str):
        self.key = key
        self.__doc__ = doc

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        return obj._need()[self.key]


class PriorEstimator:
    r"""Accumulate pair statistics over frames, then give S(k), C(k), c(r) (freud-style).

    Configure in ``__init__``; feed frames with :meth:`compute` (``reset=False`` accumulates);
    read results as properties (reading before any compute raises ``AttributeError``).

    Parameters
    ----------
    window : the observation window (periodic box, rectangle or disk) of the frames.
    r_max_um : r_c, the pair-distance range (<= ``window.r_max_allowed_um``).
    dr_um : histogram bin width.
    k_max_inv_um : None: 40 / r_core, with r_core where g(r) reaches 0.5 (capped at the
        histogram's Nyquist pi / dr).
    dk_inv_um : None: (pi / 4) / r_c.
    tail_correction : finite-N (Lebowitz-Percus) correction; None: on unless ``corrected`` is False.
    corrected : translation (overlap-area) edge correction for box and disk windows. Default
        True; False gives the biased raw estimate (a negative control).
    s_min : S(k) below this is clipped before inversion.
    tail_smoothing_from_inv_um : None (default, off) or the k above which S is smoothed.
    r_cut_fraction : the |c| fraction of the interaction-range criterion.
    """

    def __init__(
        self,
        window: Window,
        r_max_um: float,
        dr_um: float,
        k_max_inv_um: float | None = None,
        dk_inv_um: float | None = None,
        tail_correction: bool | None = None,
        corrected: bool = True,
        s_min: float = S_MIN,
        tail_smoothing_from_inv_um: float | None = None,
        r_cut_fraction: float = R_CUT_FRACTION,
    ):
        if not (r_max_um > 0 and dr_um > 0 and dr_um < r_max_um):
            raise ConfigError(f"PriorEstimator needs 0 < dr_um < r_max_um, got dr_um={dr_um}, r_max_um={r_max_um}")
        if r_max_um > window.r_max_allowed_um * (1 + 1e-9):
            raise ConfigError(f"r_max_um {r_max_um:g} exceeds what the {window.kind} window allows "
                              f"({window.r_max_allowed_um:g} um)")
        self.window = window
        self.n_bins = int(np.ceil(r_max_um / dr_um - 1e-9))
        self.r_max_um = float(r_max_um)
        self.dr_um = self.r_max_um / self.n_bins
        self.r_edges_um = np.linspace(0.0, self.r_max_um, self.n_bins + 1)
        self.k_max_inv_um = k_max_inv_um
        self.dk_inv_um = dk_inv_um
        self.tail_correction = bool(corrected) if tail_correction is None else bool(tail_correction)
        self.corrected = bool(corrected)
        self.s_min = float(s_min)
        self.tail_smoothing_from_inv_um = tail_smoothing_from_inv_um
        self.r_cut_fraction = float(r_cut_fraction)
        self._reset()

    def _reset(self) -> None:
        self._num = np.zeros(self.n_bins)
        self._n_frames = 0
        self._sum_n = 0.0
        self._sum_inv_n = 0.0
        self._n_pair_frames = 0
        self._sum_rho = 0.0
        self._pair_integral: list[float] = []
        self._results: dict | None = None

    def compute(self, frames_um: list[np.ndarray], reset: bool = True, window: Window | None = None) -> "PriorEstimator":
        r"""Add the pair histograms of ``frames_um`` (a list of (n_cells, 2) arrays in um).

        Each frame adds :math:`2 A^2 \sum_{i<j} w_{ij} / (N(N-1))` per bin, with
        :math:`w = 1/\gamma_W(\mathbf r_{ij})` (bounded window) or :math:`1/A` (periodic). The
        per-frame :math:`N(N-1)` cancels the frame-to-frame fluctuation of N in an open window
        (a pooled density leaves a noise of order :math:`\delta N / N` in the level of g, which
        :math:`\rho \pi r_c^2` amplifies in S(0)); its finite-N offset
        :math:`(1 - S_0)/N` is the same as the canonical one and is removed by the tail
        correction. ``window`` overrides the configured window for this call (frames of another
        sequence). Returns ``self``.

        Each frame's own :math:`S_f(0) = 1 + \rho \int_0^{r_c} h_f\, d^2r` is kept to report how
        many independent frames the estimate rests on and the standard error of S(0), propagated
        through the tail correction (``diagnostics``, see
        :func:`~cellbench.prior.correlation.s0_standard_error`): in a bounded window it scatters
        far more than in a periodic box (measured: std 0.14-0.18 for ~1000 WCA cells at packing
        0.40 in a field of view, 0.045 for the periodic box of 2000 around it), and consecutive
        frames of a slow system are correlated over many frames.
        """
        if reset:
            self._reset()
        win = window or self.window
        area = win.area_um2
        frames = [np.asarray(f, dtype=float).reshape(-1, 2) for f in frames_um]
        ns = np.array([len(f) for f in frames], dtype=float)
        if len(frames) == 0:
            return self
        for f, n in zip(frames, ns):
            if n < 2:
                continue
            hist = pair_histogram(f, win, self.r_max_um, self.n_bins, corrected=self.corrected)
            if win.kind == "periodic" or not self.corrected:
                hist = hist / area  # counts -> sum of 1/A, as if every pair had the full overlap
            # E[sum_{i != j} 1/gamma] = (N(N-1)/A^2) g(r) shell: per-frame normalisation cancels
            # the frame-to-frame fluctuation of N that a pooled density would leave in g(r)
            frame_num = 2.0 * hist * area**2 / (n * (n - 1.0))
            self._num += frame_num
            self._pair_integral.append(float(frame_num.sum()))
        self._n_frames += len(frames)
        self._sum_n += float(ns.sum())
        self._sum_inv_n += float(np.sum(1.0 / ns[ns >= 2]))
        self._n_pair_frames += int(np.sum(ns >= 2))
        self._sum_rho += float(ns.sum() / area)
        self._results = None
        return self

    # -- results --------------------------------------------------------------------------------
    def _need(self) -> dict:
        if self._n_frames == 0:
            raise AttributeError("PriorEstimator has no data: call compute(frames) first")
        if self._results is None:
            self._results = self._finish()
        return self._results

    def _finish(self) -> dict:
        rho = self._sum_rho / self._n_frames
        edges = self.r_edges_um
        r_c = 0.5 * (edges[1:] + edges[:-1])
        if self._n_pair_frames == 0:
            raise ConfigError("no frame holds two cells: no pair statistics")
        # frames with fewer than 2 cells have no pairs and do not count in g (they do count in rho)
        g = self._num / (self._n_pair_frames * shell_areas_um2(edges))
        h = g - 1.0
        s0_lp, delta, gain = None, 0.0, 1.0
        if self.tail_correction:
            # offsets (1 - S0)/N_f averaged over frames: N = harmonic mean, A = N / rho
            n_harm = self._n_pair_frames / self._sum_inv_n
            h, s0_lp, delta = finite_size_tail_correction(h, edges, rho, n_harm, n_harm / rho)
            gain = finite_size_error_gain(self.r_max_um, n_harm / rho)
        spacing = rho**-0.5
        core = core_radius(r_c, g)
        core_used = float(np.clip(core if core is not None else 0.2 * spacing, 0.2 * spacing, 2.0 * spacing))
        k_max = self.k_max_inv_um or min(K_MAX_CORE_MULTIPLE / core_used, np.pi / self.dr_um)
        dk = self.dk_inv_um or DK_R_MAX / self.r_max_um
        k = np.arange(0.0, k_max + 0.5 * dk, dk)
        S = structure_factor_from_h(h, edges, rho, k)
        if self.tail_smoothing_from_inv_um is not None:
            S = smooth_tail(S, k, self.tail_smoothing_from_inv_um)
        C, small = direct_correlation_k(S, rho, self.s_min)
        c = direct_correlation_r(C, k, r_c)
        r_cut = interaction_range(r_c, c, self.r_cut_fraction)
        hyper = self._hyperparameters(k_max, dk, core, core_used)
        diag = {
            "n_frames": self._n_frames,
            "mean_cells_per_frame": self._sum_n / self._n_frames,
            "mean_spacing_um": spacing,
            "g_r": g,
            "S0_tail_corrected": s0_lp,
            "finite_size_offset": delta,
            "k_guard_inv_um": 2 * np.pi / self.window.size_um,
            "k_guard_note": "S(k) for k < 2 pi / window size rests on the integral of h up to r_c only: low resolution",
            "k_S_small_inv_um": k[small],
            **self._frame_statistics(rho, gain, float(S[0])),
        }
        return dict(k=k, S=S, C=C, r=r_c, c=c, g=g, h=h, rho=rho, r_cut=r_cut, hyper=hyper, diag=diag)

    def _frame_statistics(self, rho: float, gain: float, s0: float) -> dict:
        """Spread and autocorrelation of the single-frame S(0) (before the tail correction), the
        standard error of the reported S(0) = S(k = 0) (after it: times ``gain``) and whether
        S(0) is resolved from zero."""
        s0_frames = 1.0 + rho * (np.asarray(self._pair_integral) - np.pi * self.r_max_um**2)
        stats = s0_standard_error(s0_frames, gain)
        return {**stats, **s0_resolution(s0, stats["S0_standard_error"])}

    def _hyperparameters(self, k_max: float, dk: float, core: float | None, core_used: float) -> dict:
        """Every value the estimate used, given or chosen (written to ``prior.json``)."""
        return {
            "window": self.window.to_dict(),
            "window_area_um2": self.window.area_um2,
            "r_max_um": self.r_max_um,
            "dr_um": self.dr_um,
            "n_bins": self.n_bins,
            "k_max_inv_um": float(k_max),
            "k_max_rule": "given" if self.k_max_inv_um else f"min({K_MAX_CORE_MULTIPLE:g} / r_core, pi / dr)",
            "dk_inv_um": float(dk),
            "r_core_um": core,
            "r_core_used_um": core_used,
            "tail_correction": self.tail_correction,
            "edge_correction": self.corrected and self.window.kind != "periodic",
            "s_min": self.s_min,
            "tail_smoothing_from_inv_um": self.tail_smoothing_from_inv_um,
            "r_cut_fraction": self.r_cut_fraction,
            "hankel_quadrature": "forward: exact per histogram bin; inverse: trapezoid on [0, k_max]",
        }

    r_um = _Result("r", "(n_bins,) bin centres, um.")
    g_r = _Result("g", "(n_bins,) pair correlation g(r), before the tail correction.")
    h_r = _Result("h", "(n_bins,) h(r) = g(r) - 1, tail-corrected when enabled.")
    k_inv_um = _Result("k", "(n_k,) wavenumbers, 1/um (starts at 0).")
    S_k = _Result("S", "(n_k,) structure factor S(k).")
    C_k = _Result("C", "(n_k,) direct correlation in k space C(k), um^2.")
    c_r = _Result("c", "(n_bins,) direct correlation c(r), dimensionless.")
    rho_per_um2 = _Result("rho", "Mean density over frames, cells / um^2.")

    @property
    def prior(self) -> Prior:
        res = self._need()
        return Prior(res["k"], res["S"], res["C"], res["r"], res["c"], float(res["rho"]), float(res["r_cut"]),
                     res["hyper"], res["diag"])

    def __repr__(self) -> str:
        return (f"PriorEstimator(window={self.window!r}, r_max_um={self.r_max_um!r}, dr_um={self.dr_um!r}, "
                f"k_max_inv_um={self.k_max_inv_um!r}, dk_inv_um={self.dk_inv_um!r}, "
                f"tail_correction={self.tail_correction!r}, corrected={self.corrected!r}, s_min={self.s_min!r}, "
                f"tail_smoothing_from_inv_um={self.tail_smoothing_from_inv_um!r}, r_cut_fraction={self.r_cut_fraction!r})")
