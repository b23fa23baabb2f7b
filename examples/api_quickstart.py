"""The cellbench Python API in one small script (about a minute on 2 cores).

    python examples/api_quickstart.py [OUT_DIR]

1. ``cellbench.simulate``: a small simulation (tracks + the simulator's truth beside them);
2. ``cellbench.read_tracks``: read the tracks back from a file, as one reads one's own;
3. ``cellbench.run`` + ``cellbench.RunConfig``: one scored run of AR(k) beside the references;
4. ``cellbench.register``: a model of one's own (here: half the last step) in a few lines;
5. ``cellbench.compare``: it against AR over two training seeds, with the paired difference.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

import cellbench

SMALL = {"n_cells": 60, "box_um": 110.0, "fov_um": (5.0, 5.0, 105.0, 105.0), "n_frames": 60}
"""The built-in 'default' preset shrunk to 60 cells in a 110-um box over 60 frames."""


@cellbench.register("half-step", "half the cell's last step (examples/api_quickstart.py)", kind="fitted")
class HalfStep:
    """Predicts x(t+1) - x(t) = (x(t) - x(t-1)) / 2; nothing to fit."""

    def fit(self, data, seed: int = 0) -> "HalfStep":
        return self

    def predict(self, data) -> list[np.ndarray]:
        from cellbench.data.targets import history_um

        return [0.5 * np.nan_to_num(history_um(s.tracks, 1)[:, 0]) for s in data.seqs]


def main(out: Path) -> cellbench.CompareConfig:
    sim = cellbench.simulate("default", seed=0, overrides=SMALL)
    print(f"simulated {sim.tracks.n_rows} spots; truth columns: {', '.join(sim.truth.columns[:4])}, ...")
    path = out / "tracks.parquet"
    sim.tracks.save(path)

    tracks = cellbench.read_tracks(path)
    print(f"read {path.name}: {tracks.n_rows} rows, {len(tracks.track_ids)} tracks")

    run = cellbench.run(cellbench.RunConfig(model="ar", data=(str(path),), rollout=False, probes=False), out / "run-ar")
    print(f"AR test R2 {run.metrics['test']['r2']:.3f}, RMSE {run.metrics['test']['rmse_um']:.3f} um "
          f"(zero: {run.metrics['references']['zero']['rmse_um']:.3f} um)")

    cfg = cellbench.CompareConfig(data=(str(path),), models=("ar", "half-step"), seeds=2)
    result = cellbench.compare(cfg, out / "compare")
    print(result.table)
    print(result.sentence)
    return cfg


if __name__ == "__main__":
    if len(sys.argv) > 1:
        main(Path(sys.argv[1]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(Path(tmp))
