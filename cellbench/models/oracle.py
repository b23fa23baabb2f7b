r"""``oracle``: the floor no model can beat on noise-free positions, on simulated data only.

:math:`\hat y_i^t` = the noise-free dynamics integrated over one frame interval from the recorded
true state (positions, orientations), the simulator's ``oracle_dx_um, oracle_dy_um``. It reads
``Sequence.truth`` (a :class:`~cellbench.runs.simulated.SimTruth`) and nothing else. Not the drift frozen
at the frame: with stiff contacts that relax faster than a frame that one is badly wrong.

With localization noise (``sigma_loc_um > 0``) the oracle still predicts the true displacement,
while the targets are read from noisy positions, :math:`d + n_{t+1} - n_t`: its squared error per
axis is, in expectation, its noise-free one plus :math:`2\sigma_{loc}^2`, and for passive
non-interacting cells it is :math:`2 D_t \tau + 2\sigma_{loc}^2` (:func:`cellbench.runs.simulated.noise_floor`,
recorded as ``noise_floor`` in a simulated run's metrics). It is then no longer a bound for
models: one that reads the noisy past can exploit the anti-correlation of successive observed
displacements and go below it, down to the ``filtered_rmse_dx_um`` of the floor.
"""

from __future__ import annotations

from cellbench.errors import ConfigError


class Oracle:
    """``oracle``: reads ``Sequence.truth.oracle_um``; fails on data without simulator truth."""

    def fit(self, data, seed: int = 0):
        if any(getattr(s.truth, "oracle_um", None) is None for s in data.seqs):
            raise ConfigError("--model oracle needs simulated data with truth (use --data PRESET)")
        return self

    def predict(self, data):
        return [s.truth.oracle_um.copy() for s in data.seqs]
