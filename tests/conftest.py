"""Shared test fixtures and file writers.

``real_data_dir`` locates the real BF-C2DL-HSC data and skips cleanly when it is absent. The
writers below make small TrackMate CSV / XML files and Cell Tracking Challenge folders that
the reader tests write into ``tmp_path`` (import them with ``from tests.conftest import ...``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_DATA_DIR = REPO.parent / "shared" / "data" / "bf-c2dl-hsc"


@pytest.fixture
def real_data_dir() -> Path:
    """``../shared/data/bf-c2dl-hsc/`` (next to the repository); skips the test when absent."""
    if not REAL_DATA_DIR.is_dir():
        pytest.skip(f"real data folder {REAL_DATA_DIR} is absent (BF-C2DL-HSC spots CSVs are not in the repo)")
    return REAL_DATA_DIR


# -- small tracks files written by the tests (never real data) --------------------------------

CSV_KEYS = ["LABEL", "ID", "TRACK_ID", "QUALITY", "POSITION_X", "POSITION_Y", "POSITION_Z", "POSITION_T", "FRAME", "RADIUS"]


def trackmate_csv_text(rows: list[dict], length_unit: str | None = "micron", time_unit: str = "sec", sep: str = ",") -> str:
    """A TrackMate spots CSV: four header rows when ``length_unit`` is given, else one.

    ``rows`` are dicts of column -> value; the columns are :data:`CSV_KEYS` that any row uses,
    then the other keys in order of appearance. A value of None writes an empty cell.
    """
    keys = [k for k in CSV_KEYS if any(k in r for r in rows)] if rows else list(CSV_KEYS)
    for r in rows:
        keys += [k for k in r if k not in keys]
    units = {"POSITION_X": length_unit, "POSITION_Y": length_unit, "POSITION_Z": length_unit, "RADIUS": length_unit,
             "POSITION_T": time_unit, "QUALITY": "quality"}
    lines = [sep.join(keys)]
    if length_unit is not None:
        lines.append(sep.join(k.title() for k in keys))
        lines.append(sep.join(k[:4].title() for k in keys))
        lines.append(sep.join(f"({units[k]})" if k in units else "" for k in keys))
    for r in rows:
        lines.append(sep.join("" if r.get(k) is None else str(r.get(k)) for k in keys))
    return "\n".join(lines) + "\n"


def csv_spots(n_tracks: int = 2, n_frames: int = 3, dt_s: float = 300.0, **override) -> list[dict]:
    """Rows of a small, valid spots CSV: track k at x = 10 k + frame, y = 5 k (um)."""
    rows = []
    for f in range(n_frames):
        for k in range(n_tracks):
            i = len(rows)
            rows.append({"LABEL": f"ID{i}", "ID": i, "TRACK_ID": k, "QUALITY": 1.0, "POSITION_X": 10.0 * k + f,
                         "POSITION_Y": 5.0 * k, "POSITION_Z": 0.0, "POSITION_T": f * dt_s, "FRAME": f, "RADIUS": 2.5,
                         **override})
    return rows


def trackmate_xml_text(
    spots: list[dict],
    tracks: dict[int, list[tuple[int, int]]],
    filtered: list[int] | None = None,
    spatialunits: str = "micron",
    timeunits: str = "sec",
    image_data: dict | None = None,
    features: dict[str, str] | None = None,
    root: str = "TrackMate",
) -> str:
    """A TrackMate session XML: ``spots`` are attribute dicts (ID, FRAME, POSITION_X, ...),
    ``tracks`` maps TRACK_ID to its (source ID, target ID) edges, ``features`` maps a spot
    feature to its declared dimension. Edges carry track-level attributes that must not leak."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', f'<{root} version="7.11.1">',
           f'  <Model spatialunits="{spatialunits}" timeunits="{timeunits}">',
           "    <FeatureDeclarations>", "      <SpotFeatures>"]
    for name, dim in (features or {}).items():
        out.append(f'        <Feature feature="{name}" name="{name}" shortname="{name}" dimension="{dim}" isint="false" />')
    out += ["      </SpotFeatures>", "    </FeatureDeclarations>", f'    <AllSpots nspots="{len(spots)}">']
    for frame in sorted({int(s.get("FRAME", 0)) for s in spots}):
        out.append(f'      <SpotsInFrame frame="{frame}">')
        for s in spots:
            if int(s.get("FRAME", 0)) == frame:
                attrs = " ".join(f'{k}="{v}"' for k, v in s.items())
                out.append(f'        <Spot name="ID{s.get("ID")}" {attrs} />')
        out.append("      </SpotsInFrame>")
    out += ["    </AllSpots>", "    <AllTracks>"]
    for tid, edges in tracks.items():
        out.append(f'      <Track name="Track_{tid}" TRACK_ID="{tid}" TRACK_DURATION="99" TRACK_MEAN_SPEED="1.5">')
        for a, b in edges:
            out.append(f'        <Edge SPOT_SOURCE_ID="{a}" SPOT_TARGET_ID="{b}" LINK_COST="1.0" SPEED="2.0" DISPLACEMENT="3.0" />')
        out.append("      </Track>")
    out.append("    </AllTracks>")
    if filtered is not None:
        out += ["    <FilteredTracks>", *[f'      <TrackID TRACK_ID="{t}" />' for t in filtered], "    </FilteredTracks>"]
    out += ["  </Model>", "  <Settings>"]
    if image_data is not None:
        out.append("    <ImageData " + " ".join(f'{k}="{v}"' for k, v in image_data.items()) + " />")
    out += ["  </Settings>", f"</{root}>"]
    return "\n".join(out) + "\n"


def xml_spot(spot_id: int, frame: int, x: float, y: float, t: float | None = None, **extra) -> dict:
    s = {"ID": spot_id, "FRAME": frame, "POSITION_X": x, "POSITION_Y": y, "POSITION_Z": 0.0, "QUALITY": 1.0,
         "VISIBILITY": 1, "RADIUS": 2.0}
    if t is not None:
        s["POSITION_T"] = t
    return {**s, **extra}


def xml_chain(track_id: int = 1, n_frames: int = 3, first_spot: int = 0, x0: float = 0.0) -> tuple[list[dict], dict]:
    """One unbranched track: spots first_spot.. at x = x0 + frame (um), y = 1; and its edges."""
    spots = [xml_spot(first_spot + f, f, x0 + f, 1.0, t=60.0 * f) for f in range(n_frames)]
    edges = [(first_spot + f, first_spot + f + 1) for f in range(n_frames - 1)]
    return spots, {track_id: edges}


def write_ctc(
    folder: Path, masks: dict[int, np.ndarray], track_text: str, prefix: str = "man_track", digits: int = 3
) -> Path:
    """A CTC folder: ``<prefix><frame>.tif`` label masks and ``man_track.txt`` (or ``res_track.txt``)."""
    import tifffile

    folder.mkdir(parents=True, exist_ok=True)
    for frame, mask in masks.items():
        tifffile.imwrite(folder / f"{prefix}{frame:0{digits}d}.tif", mask)
    name = "man_track.txt" if prefix == "man_track" else "res_track.txt"
    (folder / name).write_text(track_text)
    return folder


def ctc_division(h: int = 20, w: int = 30) -> tuple[dict[int, np.ndarray], str]:
    """Cell 1 (a 3 x 5 rectangle) in frames 0-1 divides into 2 (2 x 2 square) and 3 (one pixel), frames 2-3."""
    masks = {}
    for t in range(4):
        m = np.zeros((h, w), np.uint16)
        if t < 2:
            m[2:5, 3 + t : 8 + t] = 1  # rows 2-4, columns 3+t..7+t: centroid (x, y) = (5 + t, 3) px
        else:
            m[10:12, 10:12] = 2  # centroid (10.5, 10.5) px
            m[15, 20 + t] = 3  # centroid (20 + t, 15) px
        masks[t] = m
    return masks, "1 0 1 0\n2 2 3 1\n3 2 3 1\n"
