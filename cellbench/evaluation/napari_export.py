"""A run's test-block tracks and predicted steps as files napari opens (``cellbench export --napari``).

Everything comes from the run folder's ``predictions.parquet`` (one row per scored spot: its
position at frame t in um and its true and predicted displacement to t + 1), so an export
needs neither the data file nor the model. Per sequence of the run it writes:

- ``tracks.csv``: napari's tracks-layer table ``track_id, t, y, x`` (t in frames, y and x in
  um; y before x, napari's axis order), one row per scored spot, sorted by track and frame;
- ``vectors_true.npy`` and ``vectors_<model>.npy``: napari vectors-layer data, float64 arrays
  of shape (n_spots, 2, 3) in the rows of ``tracks.csv``: ``[i, 0] = (t, y_um, x_um)`` the
  spot, ``[i, 1] = (0, dy_um, dx_um)`` the observed or predicted displacement to frame t + 1;
- ``napari.json``: units, scale, the files, and the lines that open them in napari.

A run of several sequences gets ``tracks_seq<i>.csv`` and ``vectors_<name>_seq<i>.npy`` (their
frames and track ids overlap). Every file is written atomically; an export folder holding
something else is refused unless ``overwrite`` (:mod:`cellbench.outdir`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cellbench.errors import ConfigError
from cellbench.io import read_json, write_atomic_with, write_json
from cellbench.outdir import RunKind, claim_out_dir

NOTE = "napari.json"
NEEDED = ("seq", "dataset", "track_id", "frame", "x_um", "y_um", "dx_true_um", "dy_true_um", "dx_pred_um",
          "dy_pred_um")
OPEN_IN_NAPARI = """import json, numpy as np, pandas as pd, napari
note = json.load(open("napari.json"))
viewer = napari.Viewer()
for seq in note["sequences"]:
    tracks = pd.read_csv(seq["tracks"])[["track_id", "t", "y", "x"]].to_numpy()
    viewer.add_tracks(tracks, name=seq["dataset"], scale=note["scale"])
    for name, path in seq["vectors"].items():
        viewer.add_vectors(np.load(path), name=f"{seq['dataset']}: {name}", scale=note["scale"], edge_width=0.5)
napari.run()"""


def vectors(part: pd.DataFrame, dx: str, dy: str) -> np.ndarray:
    """(n_rows, 2, 3) napari vectors: ``[i, 0] = (t, y, x)`` of each row, ``[i, 1] = (0, dy, dx)`` (um)."""
    out = np.zeros((len(part), 2, 3))
    out[:, 0] = part[["frame", "y_um", "x_um"]].to_numpy(dtype=float)
    out[:, 1, 1], out[:, 1, 2] = part[dy].to_numpy(dtype=float), part[dx].to_numpy(dtype=float)
    return out


def tracks_table(part: pd.DataFrame) -> pd.DataFrame:
    """napari's tracks-layer table ``track_id, t, y, x`` of a sequence's spots (one row per spot)."""
    return part.rename(columns={"frame": "t", "y_um": "y", "x_um": "x"})[["track_id", "t", "y", "x"]]


def _load(run_dir: Path) -> tuple[pd.DataFrame, dict]:
    path = run_dir / "predictions.parquet"
    if not path.is_file() or not (run_dir / "config.json").is_file():
        raise ConfigError(f"--napari {run_dir}: no predictions.parquet and config.json (not a finished cellbench run "
                          f"folder)")
    preds, config = pd.read_parquet(path), read_json(run_dir / "config.json")
    missing = [c for c in NEEDED if c not in preds.columns]
    if missing:
        raise ConfigError(f"{path}: no column(s) {missing} (written by an older cellbench, without positions); "
                          f"rerun the run to export it")
    return preds, config


def _pixel_um(config: dict) -> float | None:
    return config.get("pixel_um") or (config.get("read_options") or {}).get("pixel_um")


def export_napari(run_dir: Path, out_dir: Path, overwrite: bool = False) -> list[Path]:
    """Write the napari files of the run in ``run_dir`` into ``out_dir``; returns the paths written."""
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    preds, config = _load(run_dir)
    models = sorted(preds["model"].unique()) if "model" in preds.columns else [config["model"]]
    seqs = sorted(preds["seq"].unique())
    files: dict[str, object] = {}
    listing = []
    for seq in seqs:
        rows = preds[preds["seq"] == seq]
        spots = rows.drop_duplicates(["track_id", "frame"]).sort_values(["track_id", "frame"], kind="stable")
        tag = "" if len(seqs) == 1 else f"_seq{seq}"
        entry = {"seq": int(seq), "dataset": str(spots["dataset"].iloc[0]), "tracks": f"tracks{tag}.csv",
                 "n_spots": len(spots), "vectors": {"true": f"vectors_true{tag}.npy"}}
        files[entry["tracks"]] = tracks_table(spots)
        files[entry["vectors"]["true"]] = vectors(spots, "dx_true_um", "dy_true_um")
        for model in models:
            mine = rows if "model" not in rows.columns else rows[rows["model"] == model]
            mine = mine.set_index(["track_id", "frame"]).loc[pd.MultiIndex.from_frame(spots[["track_id", "frame"]])]
            entry["vectors"][model] = f"vectors_{model}{tag}.npy"
            files[entry["vectors"][model]] = vectors(mine.reset_index(), "dx_pred_um", "dy_pred_um")
        listing.append(entry)
    note = {
        "run": str(run_dir.resolve()), "models": models, "sequences": listing,
        "axes": ["t", "y", "x"], "units": {"t": "frame", "y": "um", "x": "um"}, "scale": [1.0, 1.0, 1.0],
        "pixel_um": _pixel_um(config),
        "tracks_layout": "CSV track_id, t (frame index), y (um), x (um): napari's tracks-layer data ID, T, Y, X; one "
                         "row per scored spot of the test block (a track's last spot in the block has no target and "
                         "is not listed)",
        "vectors_layout": "npy float64 (n_spots, 2, 3), rows as in the tracks CSV: [i, 0] = (t, y_um, x_um) the spot "
                          "at frame t, [i, 1] = (0, dy_um, dx_um) its displacement to frame t + 1 (true: observed; "
                          "a model: predicted); napari's vectors-layer data [position, projection]",
        "scale_note": "positions are in um, so the layers take scale (1, 1, 1); to overlay an image in pixels, give "
                      "the image layer scale (1, pixel_um, pixel_um)",
        "open_in_napari": OPEN_IN_NAPARI,
    }
    kind = RunKind(frozenset([*files, NOTE]), identity=NOTE, option="--out")
    claim_out_dir(out_dir, kind, lambda p: read_json(p).get("run") == note["run"], overwrite)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        write_atomic_with(out_dir / name, _writer(data))
    write_json(out_dir / NOTE, note)
    return [out_dir / name for name in [*files, NOTE]]


def _writer(data):
    if isinstance(data, pd.DataFrame):
        return lambda tmp: data.to_csv(tmp, index=False)

    def save(tmp: Path) -> None:
        with open(tmp, "wb") as f:  # np.save(path) would append .npy to the temporary name
            np.save(f, data)

    return save
