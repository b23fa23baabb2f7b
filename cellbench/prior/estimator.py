r"""The prior estimator: frames -> g(r) -> S(k) -> C(k) -> c(r) (the paper's section 4).

Pipeline (each step a pure function below, :class:`PriorEstimator` chains them freud-style):

1. Pair histogram up to :math:`r_c` per frame (cell list, O(N)), edge-corrected in a bounded
   window (:mod:`cellbench.prior.window`), accumulated over frames:
   :math:`g(r)`, :math:`h = g - 1`.
2. Finite-N tail correction (Lebowitz-Percus). With the canonical
   normalisation :math:`N(N-1)/A`, :math:`g_N(r) \to 1 + (1 - S_0)/N` beyond the correlation
   range; :func:`finite_size_tail_correction` removes that constant with :math:`S_0` solved
   self-consistently.
3. :math:`S(k) = 1 + \rho H(k)`, :math:`H(k) = 2\pi \int_0^{r_c} h(r) J_0(kr) r\, dr` (exact
   per bin, :func:`~cellbench.prior.hankel.hankel_binned`).
4. :math:`C(k) = (1 - 1/S(k)) / \rho` (Ornstein-Zernike). Errors are amplified by
   :math:`1/(\rho S^2)` where S is small; S below ``s_min`` is clipped and reported.
5. :math:`c(r) = \frac{1}{2\pi} \int_0^{k_\max} k\, C(k) J_0(kr)\, dk` (trapezoid on a uniform
   grid; the error is the truncation at :math:`k_\max`, ~0.7% at 40/sigma for a steep core,
   6% at 20/sigma).
6. :math:`r_\mathrm{cut}`: the first r beyond the main extremum of c(r) where |c| falls below
   5% of its maximum (:func:`interaction_range`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cellbench.errors import ConfigError
from cellbench.io import read_json, write_json
from cellbench.prior.hankel import hankel_binned, hankel_inverse_trapezoid
from cellbench.prior.structure import pair_histogram
from cellbench.prior.window import Window, fit_window

K_MAX_CORE_MULTIPLE = 40.0
"""k_max = 40 / r_core: the truncation error of c(r) for a steep core is ~0.7% there (6% at 20)."""
R_MAX_SPACINGS = {"periodic": 8.0, "box": 3.0, "disk": 3.0}
"""r_c in mean spacings rho^(-1/2) (capped by what the window allows). Periodic boxes: 8 (c(r)
of WCA and Yukawa Monte Carlo within 0.2-0.3% of r_c = 10; S(k) closer to the direct lattice
than at 4-6). Bounded windows: 3, because there the noise of S(k -> 0) grows like the number of
pairs within r_c (measured on a 500-cell window of WCA Monte Carlo: c(r) error 2.7% at 3, 4.8% at
4, 6.4% at 5 spacings; Yukawa 3.9% at 3, 6.3% at 2.5)."""
DR_SPACING_FRACTION = 1 / 200
"""Histogram bin = mean spacing / 200 (0.0075 sigma for WCA at packing 0.35)."""
DK_R_MAX = np.pi / 4
"""k spacing = (pi/4) / r_c: 8 points per period of J0(k r_c), resolves H(k) of h truncated at r_c."""
CORE_G_LEVEL = 0.5
"""r_core = first r where g(r) reaches 0.5 (the effective contact distance)."""
R_CUT_FRACTION = 0.05
"""r_cut: |c| below 5% of its maximum (the issue's criterion)."""
FRAME_WINDOW_MIN_CELLS = 10
"""``window="frame"``: frames with fewer cells than this are skipped (no meaningful bounding box)."""
S_MIN = 1e-2
"""S(k) below this is not inverted: C(k) uses S = S_MIN there (reported as ``k_S_small_inv_um``)."""


# -- pure steps ---------------------------------------------------------------------------------

def shell_areas_um2(r_edges_um: np.ndarray) -> np.ndarray:
    """(n_bins,) areas pi (r_{b+1}^2 - r_b^2) of the annuli between the edges, um^2."""
    e = np.asarray(r_edges_um, dtype=float)
    return np.pi * (e[1:] ** 2 - e[:-1] ** 2)


def finite_size_tail_correction(
    h: np.ndarray, r_edges_um: np.ndarray, rho_per_um2: float, n_cells: float, area_um2: float
) -> tuple[np.ndarray, float, float]:
    r"""Remove the canonical finite-N offset of h(r) measured in a periodic box.

    With pairs normalised by :math:`N(N-1)/A`, the canonical :math:`h_N(r) \to \delta =
    (1 - S_0)/N` beyond the correlation range (Lebowitz and Percus, 1961), which biases
    :math:`S(k \to 0)` by :math:`\rho \pi r_c^2 \delta`. Taking :math:`h_\infty = h_N - \delta` and
    :math:`S_0 = 1 + \rho \int_0^{r_c} h_\infty\, d^2r` gives, with :math:`f = \pi r_c^2 / A`,

    .. math:: S_0 = \frac{1 - f + \rho I}{1 - f}, \quad I = \int_0^{r_c} h_N\, d^2 r, \qquad
              \delta = \frac{1 - S_0}{N}

    Parameters
    ----------
    h : (n_bins,) measured h_N(r). r_edges_um : (n_bins + 1,) um. rho_per_um2 : N / A.
    n_cells : N (mean over frames). area_um2 : box area A.

    Returns
    -------
    h_corrected : (n_bins,). S0 : the self-consistent S(0). delta : the offset removed.
    """
    edges = np.asarray(r_edges_um, dtype=float)
    integral = float(np.sum(h * shell_areas_um2(edges)))
    f = np.pi * edges[-1] ** 2 / area_um2
    s0 = (1.0 - f + rho_per_um2 * integral) / (1.0 - f)
    delta = (1.0 - s0) / n_cells
    return h - delta, s0, delta


def structure_factor_from_h(h: np.ndarray, r_edges_um: np.ndarray, rho_per_um2: float, k_inv_um: np.ndarray) -> np.ndarray:
    r""":math:`S(k) = 1 + \rho H(k)`, with H the exact-per-bin Hankel transform of h.

    Parameters
    ----------
    h : (n_bins,) h(r) = g(r) - 1 on the bins. r_edges_um : (n_bins + 1,) um.
    rho_per_um2 : density. k_inv_um : (n_k,) 1/um.

    Returns
    -------
    (n_k,) S(k), dimensionless.
    """
    return 1.0 + rho_per_um2 * hankel_binned(h, r_edges_um, k_inv_um)


def direct_correlation_k(S_k: np.ndarray, rho_per_um2: float, s_min: float = S_MIN) -> tuple[np.ndarray, np.ndarray]:
    r"""Ornstein-Zernike: :math:`C(k) = (1 - 1/S(k)) / \rho`, um^2.

    An error :math:`\delta S` becomes :math:`\delta C = \delta S / (\rho S^2)`, so small S is
    fragile; values below ``s_min`` are clipped to it.

    Returns
    -------
    C_k : (n_k,) um^2. too_small : (n_k,) bool, where S < s_min.
    """
    S = np.asarray(S_k, dtype=float)
    too_small = ~(S >= s_min)
    return (1.0 - 1.0 / np.where(too_small, s_min, S)) / rho_per_um2, too_small


def direct_correlation_r(C_k: np.ndarray, k_inv_um: np.ndarray, r_um: np.ndarray) -> np.ndarray:
    r""":math:`c(r) = \frac{1}{2\pi} \int_0^{k_\max} k\, C(k) J_0(kr)\, dk` (trapezoid), dimensionless."""
    return hankel_inverse_trapezoid(C_k, k_inv_um, r_um)


def smooth_tail(S_k: np.ndarray, k_inv_um: np.ndarray, k_from_inv_um: float, width: int = 9) -> np.ndarray:
    """Optional tail smoothing: a running mean of S over ``width`` points for k > k_from.

    Off by default (the issue measured tapers making every case worse; a running mean on the
    tail is offered for noisy data, not used in the recovery numbers).
    """
    S = np.asarray(S_k, dtype=float).copy()
    kern = np.ones(width) / width
    sm = np.convolve(np.pad(S, width // 2, mode="edge"), kern, mode="valid")
    sel = np.asarray(k_inv_um) > k_from_inv_um
    S[sel] = sm[sel]
    return S


def core_radius(r_um: np.ndarray, g: np.ndarray, level: float = CORE_G_LEVEL, smooth_bins: int = 5) -> float | None:
    """First r where the running mean of g over ``smooth_bins`` bins reaches ``level``; None if never."""
    gs = np.convolve(g, np.ones(smooth_bins) / smooth_bins, mode="same")
    idx = np.flatnonzero(gs >= level)
    return None if len(idx) == 0 else float(r_um[idx[0]])


def interaction_range(r_um: np.ndarray, c_r: np.ndarray, fraction: float = R_CUT_FRACTION) -> float:
    r"""The first r beyond the main extremum of c(r) where :math:`|c| < f \max |c|`.

    Measured on the signed c (c times the sign of the extremum), so a jump through zero between
    two grid points also counts; linear interpolation between grid points; the last r if c never
    falls that low.
    """
    c = np.asarray(c_r, dtype=float)
    i0 = int(np.argmax(np.abs(c)))
    y = c * np.sign(c[i0])
    thr = fraction * y[i0]
    below = np.flatnonzero(y[i0:] < thr)
    if len(below) == 0:
        return float(r_um[-1])
    j = i0 + int(below[0])
    if j == 0:
        return float(r_um[0])
    r0, r1, a0, a1 = r_um[j - 1], r_um[j], y[j - 1], y[j]
    return float(r0 + (a0 - thr) / (a0 - a1) * (r1 - r0)) if a0 != a1 else float(r1)


# -- result ---------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Prior:
    """The estimated prior, ready to project onto graph edges; saved as ``prior.json``.

    Attributes
    ----------
    k_inv_um : (n_k,) wavenumbers, 1/um (starts at 0). S_k : (n_k,) structure factor.
    C_k : (n_k,) direct correlation in k space, um^2. r_um : (n_r,) radii, um.
    c_r : (n_r,) direct correlation c(r), dimensionless. rho_per_um2 : density.
    r_cut_um : interaction range (5% criterion), um.
    hyperparameters : every value used, chosen automatically or given.
    diagnostics : g(r), the guarded low-k range, where S was too small, S(0), frame counts.
    """

    k_inv_um: np.ndarray
    S_k: np.ndarray
    C_k: np.ndarray
    r_um: np.ndarray
    c_r: np.ndarray
    rho_per_um2: float
    r_cut_um: float
    hyperparameters: dict
    diagnostics: dict = field(default_factory=dict)

    def c_of_r(self, r_um: np.ndarray) -> np.ndarray:
        """c at arbitrary radii (linear interpolation; c(r_0) below the grid, 0 beyond it)."""
        return np.interp(np.asarray(r_um, dtype=float), self.r_um, self.c_r, left=self.c_r[0], right=0.0)

    def to_dict(self) -> dict:
        return {
            "k_inv_um": self.k_inv_um, "S_k": self.S_k, "C_k": self.C_k, "r_um": self.r_um, "c_r": self.c_r,
            "rho_per_um2": self.rho_per_um2, "r_cut_um": self.r_cut_um,
            "hyperparameters": self.hyperparameters, "diagnostics": self.diagnostics,
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Prior":
        arr = {k: np.asarray(d[k], dtype=float) for k in ("k_inv_um", "S_k", "C_k", "r_um", "c_r")}
        return cls(**arr, rho_per_um2=float(d["rho_per_um2"]), r_cut_um=float(d["r_cut_um"]),
                   hyperparameters=dict(d.get("hyperparameters", {})), diagnostics=dict(d.get("diagnostics", {})))

    def save(self, path: Path, extra: dict | None = None) -> None:
        """Write ``prior.json`` atomically; ``extra`` keys (e.g. the truth) are added at top level."""
        d = self.to_dict()
        d.update(extra or {})
        write_json(Path(path), d)

    @classmethod
    def load(cls, path: Path) -> "Prior":
        path = Path(path)
        try:
            return cls.from_dict(read_json(path))
        except (KeyError, ValueError, TypeError) as err:
            raise ConfigError(f"{path}: not a prior.json written by cellbench ({err})") from err

    def __repr__(self) -> str:
        return (f"Prior(rho_per_um2={self.rho_per_um2:.4g}, r_cut_um={self.r_cut_um:.4g}, n_k={len(self.k_inv_um)}, "
                f"n_r={len(self.r_um)})")


# -- the analysis object --------------------------------------------------------------------------

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
            self._num += 2.0 * hist * area**2 / (n * (n - 1.0))
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
        n_mean = self._sum_n / self._n_frames
        edges = self.r_edges_um
        r_c = 0.5 * (edges[1:] + edges[:-1])
        if self._n_pair_frames == 0:
            raise ConfigError("no frame holds two cells: no pair statistics")
        # frames with fewer than 2 cells have no pairs and do not count in g (they do count in rho)
        g = self._num / (self._n_pair_frames * shell_areas_um2(edges))
        h = g - 1.0
        s0_lp, delta = None, 0.0
        if self.tail_correction:
            # offsets (1 - S0)/N_f averaged over frames: N = harmonic mean, A = N / rho
            n_harm = self._n_pair_frames / self._sum_inv_n
            h, s0_lp, delta = finite_size_tail_correction(h, edges, rho, n_harm, n_harm / rho)
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
        k_guard = 2 * np.pi / self.window.size_um
        hyper = {
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
        diag = {
            "n_frames": self._n_frames,
            "mean_cells_per_frame": n_mean,
            "mean_spacing_um": spacing,
            "g_r": g,
            "S0_tail_corrected": s0_lp,
            "finite_size_offset": delta,
            "k_guard_inv_um": k_guard,
            "k_guard_note": "S(k) for k < 2 pi / window size rests on the integral of h up to r_c only: low resolution",
            "k_S_small_inv_um": k[small],
        }
        return dict(k=k, S=S, C=C, r=r_c, c=c, g=g, h=h, rho=rho, r_cut=r_cut, hyper=hyper, diag=diag)

    @property
    def r_um(self) -> np.ndarray:
        return self._need()["r"]

    @property
    def g_r(self) -> np.ndarray:
        return self._need()["g"]

    @property
    def h_r(self) -> np.ndarray:
        return self._need()["h"]

    @property
    def k_inv_um(self) -> np.ndarray:
        return self._need()["k"]

    @property
    def S_k(self) -> np.ndarray:
        return self._need()["S"]

    @property
    def C_k(self) -> np.ndarray:
        return self._need()["C"]

    @property
    def c_r(self) -> np.ndarray:
        return self._need()["c"]

    @property
    def rho_per_um2(self) -> float:
        return self._need()["rho"]

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


# -- automatic hyperparameters ---------------------------------------------------------------------

def frames_of(tracks) -> list[np.ndarray]:
    """The (n_cells, 2) position arrays of every frame of a Tracks table, in frame order."""
    df = tracks.df
    f = df["frame"].to_numpy()
    pos = df[["x_um", "y_um"]].to_numpy(dtype=float)
    return np.split(pos, np.flatnonzero(np.diff(f)) + 1)


def window_of(tracks, frames_um: list[np.ndarray], kind: str = "auto") -> Window:
    """The window of one sequence. ``auto``: the periodic box when the metadata says the data
    are a whole periodic simulation box, else the points' bounding box or fitted disk."""
    extra = getattr(tracks.meta, "extra", {}) or {}
    if kind in ("auto", "periodic") and extra.get("boundary") == "periodic" and extra.get("box_um"):
        L = float(extra["box_um"])
        fov = tracks.meta.fov_um
        if fov is None or np.allclose(fov, (0.0, 0.0, L, L)):
            return Window.periodic((L, L))
    if kind == "periodic":
        raise ConfigError("--window periodic: the tracks' metadata do not describe a whole periodic box "
                          "(meta.extra boundary='periodic', box_um, fov = the box)")
    return fit_window(frames_um, kind)


def _subsample(frames: list, max_frames: int | None) -> list:
    if max_frames is None or len(frames) <= max_frames:
        return frames
    idx = np.unique(np.linspace(0, len(frames) - 1, max_frames).round().astype(int))
    return [frames[i] for i in idx]


def estimate_prior(
    tracks_list,
    window: str | Window = "auto",
    max_frames: int | None = None,
    r_max_um: float | None = None,
    dr_um: float | None = None,
    k_max_inv_um: float | None = None,
    dk_inv_um: float | None = None,
    tail_correction: bool | None = None,
    corrected: bool = True,
    s_min: float = S_MIN,
    tail_smoothing_from_inv_um: float | None = None,
) -> Prior:
    r"""Estimate the prior c(r) from training frames, with every hyperparameter chosen from them.

    Uses only the frames of the Tracks it is given (pass training frames only).

    Automatic choices (all written to ``prior.hyperparameters``):

    * window: a whole periodic box when the metadata say so; otherwise the bounding box of the
      points, or the fitted disk when the points fill a circle (microwell).
    * :math:`\rho` = mean over frames of cells / window area.
    * :math:`r_c` = min(8 (periodic) or 3 (bounded window) mean spacings, the window's limit);
      bin = spacing / 200.
    * :math:`k_\max` = 40 / r_core (r_core: g(r) = 0.5), :math:`dk` = (pi/4) / r_c.
    * :math:`r_\mathrm{cut}` from the 5% criterion on c(r).

    Parameters
    ----------
    tracks_list : a Tracks, or a list of Tracks (sequences; each gets its own window).
    window : ``"auto"``, ``"periodic"``, ``"box"``, ``"disk"``, ``"frame"`` (a bounding box
        fitted to each frame: for a growing colony that fills a changing part of the image) or a
        :class:`Window` (applied to every sequence).
    max_frames : use at most this many frames per sequence, evenly spaced (None: all).
    other parameters : override the automatic values (see :class:`PriorEstimator`).

    Returns
    -------
    Prior
    """
    if not isinstance(tracks_list, (list, tuple)):
        tracks_list = [tracks_list]
    if len(tracks_list) == 0:
        raise ConfigError("estimate_prior needs at least one Tracks (the training frames)")
    # groups of (frames, window): one per sequence, or one per frame with window="frame"
    groups: list[tuple[list[np.ndarray], Window]] = []
    n_skipped = 0
    for tr in tracks_list:
        frames = _subsample(frames_of(tr), max_frames)
        if window == "frame":
            for f in frames:
                if len(f) < FRAME_WINDOW_MIN_CELLS:
                    n_skipped += 1
                    continue
                groups.append(([f], fit_window([f], "box")))
        else:
            groups.append((frames, window if isinstance(window, Window) else window_of(tr, frames, window)))
    if not groups:
        raise ConfigError(f"estimate_prior: no frame holds {FRAME_WINDOW_MIN_CELLS} cells (--window frame)")
    n_frames = sum(len(f) for f, _ in groups)
    rho = sum(sum(len(x) for x in f) / w.area_um2 for f, w in groups) / n_frames
    if not rho > 0:
        raise ConfigError("estimate_prior: the training frames hold no cells")
    spacing = rho**-0.5
    limits = np.array([w.r_max_allowed_um for _, w in groups])
    periodic = all(w.kind == "periodic" for _, w in groups)
    r_limit = float(np.median(limits) if window == "frame" else limits.min()) * (0.999 if periodic else 1.0)
    kind = "periodic" if periodic else "box"
    r_c = r_max_um or min(R_MAX_SPACINGS[kind] * spacing, r_limit)
    if window == "frame":  # frames whose own window is too small for r_c are left out
        n_skipped += int(np.sum(limits < r_c))
        groups = [g for g, lim in zip(groups, limits) if lim >= r_c]
    dr = dr_um or min(DR_SPACING_FRACTION * spacing, r_c / 50)
    est = PriorEstimator(groups[0][1], r_c, dr, k_max_inv_um, dk_inv_um, tail_correction, corrected, s_min,
                         tail_smoothing_from_inv_um)
    for i, (frames, win) in enumerate(groups):
        est.compute(frames, reset=(i == 0), window=win)
    seqs = groups
    prior = est.prior
    hyper = dict(prior.hyperparameters)
    hyper.update({
        "windows": [w.to_dict() for _, w in seqs] if window != "frame" else "one fitted box per frame",
        "frames_skipped": n_skipped,
        "max_frames": max_frames,
        "n_sequences": len(seqs),
        "r_max_rule": "given" if r_max_um else f"min({R_MAX_SPACINGS[kind]:g} mean spacings, window limit {r_limit:.4g} um)",
        "dr_rule": "given" if dr_um else f"mean spacing * {DR_SPACING_FRACTION:g}",
    })
    return dataclasses.replace(prior, hyperparameters=hyper)
