r"""``oracle``: the floor no model can beat, on simulated data only.

:math:`\hat y_i^t` = the noise-free dynamics integrated over one frame interval from the recorded
true state (positions, orientations), the simulator's ``oracle_dx_um, oracle_dy_um``. It reads
``Sequence.truth`` (a :class:`~cellbench.simdata.SimTruth`) and nothing else. Not the drift frozen
at the frame: with stiff contacts that relax faster than a frame that one is badly wrong.
"""

from __future__ import annotations

from cellbench.errors import ConfigError
from cellbench.registry import register


@register("oracle", "noise-free dynamics integrated over one frame from the true state (simulated data only)",
          kind="oracle", needs_truth=True)
class Oracle:
    def fit(self, data, seed: int = 0):
        if any(getattr(s.truth, "oracle_um", None) is None for s in data.seqs):
            raise ConfigError("--model oracle needs simulated data with truth (use --data PRESET)")
        return self

    def predict(self, data):
        return [s.truth.oracle_um.copy() for s in data.seqs]
