"""The physical prior (paper section 4): S(k) -> C(k) -> c(r) from training frames, projected
onto graph edges, plus the ground truth used to validate it.

Modules
-------
``window``      observation windows and their overlap-area (edge) corrections
``structure``   pair histograms (cell list), Debye and direct-lattice S(k) references
``hankel``      2D Hankel transforms (binned, trapezoid, quasi-discrete)
``correlation`` the pure steps g(r) -> S(k) -> C(k) -> c(r) and the interaction range
``estimator``   :class:`PriorEstimator` (accumulates frames, chains the steps)
``automatic``   :func:`estimate_prior`: every hyperparameter from the training frames
``result``      :class:`Prior` and ``prior.json``
``projection``  :class:`EdgeNormalizer`, the robust normalization of c(r_ij) on edges (paper sec. 4)
``oz``          Ornstein-Zernike solver with PY / HNC closures (comparison curves)
``reduced_potentials`` beta u(r) of the simulators' potentials from their metadata
``reference_mc`` an independent Metropolis sampler of the same potentials (validation)
``truth``       ground-truth c(r) for simulated runs and the recovery errors
``plot``        the ``prior.png`` figure
``pipeline``    what ``cellbench prior`` does: estimate, truth, uniform null, outputs
``reference_tables`` the committed reference c(r) tables and the command that makes them
"""

from cellbench.prior.automatic import estimate_prior
from cellbench.prior.correlation import interaction_range
from cellbench.prior.estimator import PriorEstimator
from cellbench.prior.validation.oz import OZResult, solve_oz
from cellbench.prior.projection import EdgeNormalizer
from cellbench.prior.result import Prior
from cellbench.prior.window import Window, fit_window

__all__ = [
    "EdgeNormalizer", "OZResult", "Prior", "PriorEstimator", "Window", "estimate_prior", "fit_window",
    "interaction_range", "solve_oz",
]
