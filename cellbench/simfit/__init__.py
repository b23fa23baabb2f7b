"""Fit a simulator preset to a tracks file: ``fit_preset(tracks) -> FitResult``.

Modules: :mod:`~cellbench.simfit.motion` (MSD, lag-1 covariance, free-ABP fit),
:mod:`~cellbench.simfit.crowding` (cells per frame, growth, region, g(r), core size),
:mod:`~cellbench.simfit.preset` (SimConfig from the fit, simulation-based correction),
:mod:`~cellbench.simfit.summary` (statistics compared real vs simulated),
:mod:`~cellbench.simfit.report` (``fit.md`` and ``fit.png``).
"""

from cellbench.simfit.errors import FitError
from cellbench.simfit.preset import FitResult, fit_preset

__all__ = ["FitError", "FitResult", "fit_preset"]
