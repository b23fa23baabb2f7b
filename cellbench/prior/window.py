r"""Observation windows and their edge corrections for pair statistics.

A pair statistic measured inside a bounded window :math:`W` (area :math:`A`) sees a pair
separated by :math:`\mathbf r` only if both points fall inside, which happens on the overlap
:math:`\gamma_W(\mathbf r) = |W \cap (W + \mathbf r)|` (the window's set covariance). For a
stationary point process of intensity :math:`\rho`,

.. math:: \mathbb E \sum_{i \ne j} \frac{1[\mathbf r_{ij} \in B]}{\gamma_W(\mathbf r_{ij})}
          = \rho^2 \int_B g(r)\, d^2 r ,

so weighting each pair by :math:`1/\gamma_W` (the translation, or Ohser-Stoyan, correction)
gives an unbiased :math:`\rho^2 g(r)` in any window. This replaces the raw Debye sum, whose
low-k part is dominated by the window form factor :math:`\rho \langle |W(k)|^2 \rangle_\theta`.

Three kinds of window:

* ``periodic``: a periodic simulation box (minimum-image distances, no correction needed).
* ``box``: a rectangle :math:`L_x \times L_y`, :math:`\gamma = (L_x - |dx|)(L_y - |dy|)`.
* ``disk``: a circle of radius :math:`R` (a microwell),
  :math:`\gamma(r) = 2R^2 \arccos\frac{r}{2R} - \frac r2 \sqrt{4R^2 - r^2}`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cellbench.errors import ConfigError

WINDOW_KINDS = ("periodic", "box", "disk")

DISK_CORNER_FRACTION_MAX = 0.02
"""``fit_window(kind="auto")`` calls the data a disk when fewer than 2% of the points lie outside
the circle inscribed in their bounding box (a uniformly filled box puts 1 - pi/4 = 21.5% there)."""


def overlap_area_box(dx_um: np.ndarray, dy_um: np.ndarray, lx_um: float, ly_um: float) -> np.ndarray:
    r"""Overlap area of a rectangle with its copy translated by (dx, dy).

    .. math:: \gamma(dx, dy) = (L_x - |dx|)_+ \, (L_y - |dy|)_+

    Parameters
    ----------
    dx_um, dy_um : arrays of the same shape, translation in um.
    lx_um, ly_um : side lengths in um.

    Returns
    -------
    array of the same shape, um^2.
    """
    return np.clip(lx_um - np.abs(dx_um), 0, None) * np.clip(ly_um - np.abs(dy_um), 0, None)


def overlap_area_disk(r_um: np.ndarray, radius_um: float) -> np.ndarray:
    r"""Overlap area of a disk of radius R with its copy translated by r (lens area).

    .. math:: \gamma(r) = 2R^2 \arccos\frac{r}{2R} - \frac r2 \sqrt{4R^2 - r^2}, \quad 0 \le r \le 2R

    and 0 beyond 2R.

    Parameters
    ----------
    r_um : array, translation length in um.
    radius_um : disk radius R in um.

    Returns
    -------
    array like ``r_um``, um^2.
    """
    r = np.minimum(np.abs(np.asarray(r_um, dtype=float)), 2 * radius_um)
    return 2 * radius_um**2 * np.arccos(r / (2 * radius_um)) - 0.5 * r * np.sqrt(4 * radius_um**2 - r**2)


@dataclass(frozen=True)
class Window:
    """Where the points were observed.

    Parameters
    ----------
    kind : ``"periodic"``, ``"box"`` or ``"disk"``.
    bounds_um : ``(x_min, y_min, x_max, y_max)`` in um for periodic and box windows; for a disk,
        its bounding square.
    center_um : (x, y) center of a disk, um (None for rectangles).
    radius_um : disk radius, um (None for rectangles).
    """

    kind: str
    bounds_um: tuple[float, float, float, float]
    center_um: tuple[float, float] | None = None
    radius_um: float | None = None

    def __post_init__(self):
        if self.kind not in WINDOW_KINDS:
            raise ConfigError(f"window kind {self.kind!r} is unknown; choose one of {WINDOW_KINDS}")
        b = tuple(float(v) for v in self.bounds_um)
        if len(b) != 4 or not np.all(np.isfinite(b)) or b[2] <= b[0] or b[3] <= b[1]:
            raise ConfigError(f"window bounds_um must be (x_min, y_min, x_max, y_max) with max > min, got {self.bounds_um}")
        object.__setattr__(self, "bounds_um", b)
        if self.kind == "disk":
            if self.radius_um is None or self.center_um is None or not self.radius_um > 0:
                raise ConfigError(f"a disk window needs center_um and radius_um > 0, got {self.center_um}, {self.radius_um}")
            object.__setattr__(self, "center_um", tuple(float(v) for v in self.center_um))
            object.__setattr__(self, "radius_um", float(self.radius_um))

    @classmethod
    def periodic(cls, box_um: tuple[float, float], origin_um: tuple[float, float] = (0.0, 0.0)) -> "Window":
        lx, ly = (float(v) for v in np.broadcast_to(box_um, (2,)))
        return cls("periodic", (origin_um[0], origin_um[1], origin_um[0] + lx, origin_um[1] + ly))

    @classmethod
    def box(cls, bounds_um: tuple[float, float, float, float]) -> "Window":
        return cls("box", tuple(bounds_um))

    @classmethod
    def disk(cls, center_um: tuple[float, float], radius_um: float) -> "Window":
        cx, cy = center_um
        return cls("disk", (cx - radius_um, cy - radius_um, cx + radius_um, cy + radius_um), (cx, cy), radius_um)

    @property
    def lengths_um(self) -> tuple[float, float]:
        """(L_x, L_y) of the box or of the disk's bounding square, um."""
        return (self.bounds_um[2] - self.bounds_um[0], self.bounds_um[3] - self.bounds_um[1])

    @property
    def area_um2(self) -> float:
        if self.kind == "disk":
            return float(np.pi * self.radius_um**2)
        lx, ly = self.lengths_um
        return float(lx * ly)

    @property
    def size_um(self) -> float:
        """The window's smallest linear size: min(L_x, L_y), or the disk's diameter."""
        return float(min(self.lengths_um))

    @property
    def r_max_allowed_um(self) -> float:
        """Largest pair distance the estimator may use: L/2 (periodic, minimum image), L/2 (box,
        where the overlap area is still >= 1/4 of A along an axis) or R (disk, overlap 39% of A)."""
        if self.kind == "disk":
            return float(self.radius_um)
        return 0.5 * self.size_um

    def overlap_area_um2(self, dx_um: np.ndarray, dy_um: np.ndarray) -> np.ndarray:
        """gamma_W(dx, dy) in um^2 (the full area A for a periodic box)."""
        if self.kind == "periodic":
            return np.full(np.broadcast(dx_um, dy_um).shape, self.area_um2)
        if self.kind == "box":
            return overlap_area_box(dx_um, dy_um, *self.lengths_um)
        return overlap_area_disk(np.hypot(dx_um, dy_um), self.radius_um)

    def contains(self, pos_um: np.ndarray) -> np.ndarray:
        """(n,) bool: which points of (n, 2) ``pos_um`` lie in the window."""
        pos_um = np.asarray(pos_um, dtype=float)
        if self.kind == "disk":
            return np.hypot(pos_um[:, 0] - self.center_um[0], pos_um[:, 1] - self.center_um[1]) <= self.radius_um
        x0, y0, x1, y1 = self.bounds_um
        return (pos_um[:, 0] >= x0) & (pos_um[:, 0] <= x1) & (pos_um[:, 1] >= y0) & (pos_um[:, 1] <= y1)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "bounds_um": list(self.bounds_um), "center_um": self.center_um, "radius_um": self.radius_um}

    @classmethod
    def from_dict(cls, d: dict) -> "Window":
        return cls(d["kind"], tuple(d["bounds_um"]), d.get("center_um"), d.get("radius_um"))


def fit_window(frames_um: list[np.ndarray], kind: str = "auto") -> Window:
    """The field of view that the frames fill: their bounding box, or the fitted disk.

    Parameters
    ----------
    frames_um : list of (n_cells, 2) position arrays in um (training frames only).
    kind : ``"box"``, ``"disk"`` or ``"auto"`` (a disk when fewer than
        :data:`DISK_CORNER_FRACTION_MAX` of the points lie outside the circle inscribed in the
        bounding box, a box otherwise).

    Returns
    -------
    Window. A disk is centered on the bounding box center, with the radius of the farthest point.

    Notes
    -----
    The bounding box of the points underestimates the true window by about one mean spacing
    divided by the number of frames; with hundreds of frames this is negligible.
    """
    if kind not in ("auto", "box", "disk"):
        raise ConfigError(f"--window {kind!r} is unknown; choose auto, box or disk (periodic needs the box size)")
    pts = np.concatenate([np.asarray(f, dtype=float).reshape(-1, 2) for f in frames_um]) if frames_um else np.empty((0, 2))
    if len(pts) < 2:
        raise ConfigError(f"cannot fit a field of view to {len(pts)} point(s); the training frames hold too few cells")
    lo, hi = pts.min(0), pts.max(0)
    if np.any(hi <= lo):
        raise ConfigError(f"cannot fit a field of view: all points share one x or y (bounding box {lo}..{hi} um)")
    center = 0.5 * (lo + hi)
    if kind == "auto":
        r_in = 0.5 * float(np.min(hi - lo))
        outside = np.mean(np.hypot(*(pts - center).T) > r_in)
        square = abs((hi - lo)[0] - (hi - lo)[1]) < 0.05 * float(np.max(hi - lo))
        kind = "disk" if square and outside < DISK_CORNER_FRACTION_MAX else "box"
    if kind == "disk":
        radius = float(np.max(np.hypot(*(pts - center).T)))
        return Window.disk((float(center[0]), float(center[1])), radius)
    return Window.box((float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])))
