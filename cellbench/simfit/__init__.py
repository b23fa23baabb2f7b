"""Fit a simulator preset to a tracks file: ``fit_preset(tracks) -> PresetFit``.

Modules: :mod:`~cellbench.simfit.motion` (lag-1 covariance, free-ABP fit to the MSD of
:mod:`cellbench.data.track_stats`),
:mod:`~cellbench.simfit.crowding` (cells per frame, growth, region, g(r), core size),
:mod:`~cellbench.simfit.preset` (SimConfig from the fit, simulation-based correction),
:mod:`~cellbench.simfit.summary` (statistics compared real vs simulated),
:mod:`~cellbench.simfit.report` (``fit.md`` and ``fit.png``). A table that cannot be fitted
raises :class:`cellbench.errors.FitError`, naming the file.
"""

from cellbench.simfit.preset import PresetFit, fit_preset

__all__ = ["PresetFit", "fit_preset"]
