"""Fit a simulator preset to a tracks file: ``fit_preset(tracks) -> FitResult``.

Modules: :mod:`~cellbench.fit.motion` (MSD, lag-1 covariance, free-ABP fit),
:mod:`~cellbench.fit.crowding` (cells per frame, growth, region, g(r), core size),
:mod:`~cellbench.fit.preset` (SimConfig from the fit, simulation-based correction),
:mod:`~cellbench.fit.summary` (statistics compared real vs simulated),
:mod:`~cellbench.fit.report` (``fit.md`` and ``fit.png``).
"""

from cellbench.fit.errors import FitError
from cellbench.fit.preset import FitResult, fit_preset

__all__ = ["FitError", "FitResult", "fit_preset"]
