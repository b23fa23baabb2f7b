r"""The boundary of the plane: the one place that knows whether space is periodic.

Two spaces, as in JAX MD's ``space.py``:

* :func:`free`: the open plane. A displacement is a plain difference, positions are never
  wrapped.
* :func:`periodic`: a periodic square box :math:`[0, L)^2` of side :math:`L` = ``side_um``.
  Displacements are minimum images and positions wrap back into the box:

  .. math:: \mathbf d = (\mathbf r_a - \mathbf r_b) - L\,\operatorname{round}\!\left(\frac{\mathbf r_a - \mathbf r_b}{L}\right),
            \qquad \operatorname{wrap}(\mathbf r) = \mathbf r \bmod L

  (``round`` halves to even, as ``np.round``; the minimum image is exact while the true
  separation is below L/2 per axis).

The boundary is chosen once, where a program learns it (a simulator config, or
:attr:`cellbench.data.tracks.Tracks.periodic_box_um`, which is None for open data), and passed
on as ``box_um: float | None`` or as the functions of :func:`from_box`. Other code calls these
functions instead of branching on the box. The numba kernels (``cellbench.sim.kernels``,
``cellbench.prior.structure``, ``cellbench.prior.validation.reference_mc``) keep the same
arithmetic written inside their loops, for speed.

Arrays have shape ``(..., 2)`` (or any shape: every operation is elementwise), in um.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

DisplacementFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``displacement(r_a_um, r_b_um) -> d_um``: r_a - r_b, a minimum image in a periodic box."""
ShiftFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``shift(r_um, dr_um) -> r_um``: r + dr, wrapped back into a periodic box."""


def minimum_image(d_um: np.ndarray, box_um: float | None) -> np.ndarray:
    """The minimum image of the separations ``d_um`` in a periodic box of side ``box_um``.

    Parameters
    ----------
    d_um : array of separations in um (any shape; each element is one axis).
    box_um : the box side in um, or None for the open plane.

    Returns
    -------
    ``d_um - box_um * np.round(d_um / box_um)``, a new array; ``d_um`` itself when ``box_um`` is None.
    """
    if box_um is None:
        return d_um
    return d_um - box_um * np.round(d_um / box_um)


def wrap(pos_um: np.ndarray, box_um: float | None) -> np.ndarray:
    """Positions folded into the periodic box ``[0, box_um)`` per axis (``np.mod``).

    ``pos_um`` itself when ``box_um`` is None. A coordinate a hair below 0 (-1e-17) folds to
    ``box_um`` itself in floating point, as ``np.mod`` does.
    """
    if box_um is None:
        return pos_um
    return np.mod(pos_um, box_um)


def unwrap(pos_um: np.ndarray, image: np.ndarray, box_um: float | None) -> np.ndarray:
    """Positions in the box plus ``image`` whole boxes (the periodic images crossed), um.

    Parameters
    ----------
    pos_um : wrapped positions in um. image : integer box counts, same shape (ignored in the
        open plane). box_um : the box side in um, or None.

    Returns
    -------
    ``pos_um + box_um * image``, a new array; a copy of ``pos_um`` when ``box_um`` is None.
    """
    if box_um is None:
        return pos_um.copy()
    return pos_um + box_um * image


def free() -> tuple[DisplacementFn, ShiftFn]:
    """(displacement, shift) of the open plane: ``r_a - r_b`` and ``r + dr``."""

    def displacement(r_a_um: np.ndarray, r_b_um: np.ndarray) -> np.ndarray:
        return r_a_um - r_b_um

    def shift(r_um: np.ndarray, dr_um: np.ndarray) -> np.ndarray:
        return r_um + dr_um

    return displacement, shift


def periodic(side_um: float) -> tuple[DisplacementFn, ShiftFn]:
    """(displacement, shift) of the periodic square box ``[0, side_um)^2``.

    ``displacement(r_a, r_b)`` is the minimum image of ``r_a - r_b`` (:func:`minimum_image`);
    ``shift(r, dr)`` wraps ``r + dr`` into the box (:func:`wrap`).

    Raises
    ------
    ValueError
        when ``side_um`` is not a finite number > 0.
    """
    if not (np.isfinite(side_um) and side_um > 0):
        raise ValueError(f"periodic box side must be a finite number > 0 um, got {side_um}")

    def displacement(r_a_um: np.ndarray, r_b_um: np.ndarray) -> np.ndarray:
        return minimum_image(r_a_um - r_b_um, side_um)

    def shift(r_um: np.ndarray, dr_um: np.ndarray) -> np.ndarray:
        return wrap(r_um + dr_um, side_um)

    return displacement, shift


def from_box(box_um: float | None) -> tuple[DisplacementFn, ShiftFn]:
    """:func:`periodic` (``box_um``) when ``box_um`` is a box side, :func:`free` when it is None."""
    return free() if box_um is None else periodic(box_um)


__all__ = ["DisplacementFn", "ShiftFn", "minimum_image", "wrap", "unwrap", "free", "periodic", "from_box"]
