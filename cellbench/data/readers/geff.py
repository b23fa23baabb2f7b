"""geff (graph exchange file format for tracking) <-> :class:`~cellbench.data.tracks.Tracks`.

A geff is a zarr folder holding a graph: nodes (spots) with properties, edges from a spot to
the next spot of the same cell (or to a daughter). The optional ``geff`` package reads and
writes it (``pip install 'cellbench[geff]'``).

Reading
-------
The metadata's axes name the time axis (its values are frame indices when its unit is
``frame`` or unset, with ``scale`` x ``scaled_unit`` giving the frame interval; times in a
time unit when it is one) and the space axes (``x`` and ``y`` by name, else the last two;
values x ``scale`` + ``offset`` when a ``scaled_unit`` is given). Tracks are the metadata's
``tracklet`` node property when it names one, else the tracklets of the graph: a node
continues its predecessor's track when that edge is the only one out of the predecessor and
into the node. A track whose first node has one predecessor with several successors is a
daughter (``parent_id`` = that predecessor's track); a node joined from several (a merge)
starts a track without a mother, with a warning. ``--columns`` renames any role to a node
property. Errors name the folder and the node id (as "row").

Writing
-------
:func:`write_geff` writes one node per row (properties ``t`` in frames, ``y``, ``x`` in um,
``track_id``, ``radius_um`` when known), an edge from each spot to its track's next spot and
from a mother's last spot to each daughter's first; the time axis carries the frame interval
as ``scale`` (s). Reading it back gives the same table.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from cellbench.errors import ConfigError, TracksFormatError
from cellbench.data.readers.column_table import ColumnTable
from cellbench.data.readers.common import to_s_factor
from cellbench.data.readers.formats import FormatSpec, with_columns
from cellbench.data.readers.generic import tracks_from_columns
from cellbench.data.readers.options import ReadOptions
from cellbench.data.tracks import NO_PARENT, Tracks

TRACK_FROM_EDGES = "track_id (from edges)"
PARENT_FROM_EDGES = "parent (from edges)"
INSTALL = "pip install 'cellbench[geff]'"


def is_geff(path: Path) -> bool:
    """Whether ``path`` is a zarr folder (v2 ``.zattrs`` / ``.zgroup`` or v3 ``zarr.json``)."""
    return path.is_dir() and any((path / name).is_file() for name in (".zattrs", ".zgroup", "zarr.json"))


def _geff_io():
    try:
        import geff.core_io as core_io
    except ImportError as err:
        raise ConfigError(f"reading or writing a geff needs the optional dependency geff ({err}): {INSTALL}") from None
    return core_io


def folder_sha256(folder: Path) -> str:
    """sha256 over every file of a folder: relative path and content hash, in path order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        content = hashlib.sha256(path.read_bytes()).hexdigest()
        digest.update(f"{path.relative_to(folder).as_posix()} {content}\n".encode())
    return digest.hexdigest()


def _oriented(ids: np.ndarray, edges: np.ndarray, t: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    """(source, target) node indices of every edge, from the earlier node to the later one.

    ``edges`` : (n_edges, 2) node ids. An edge to a node that does not exist, or between two nodes
    of the same time, is refused by its node ids.
    """
    order = np.argsort(ids, kind="stable")
    pos = np.minimum(np.searchsorted(ids, edges, sorter=order), len(ids) - 1)
    idx = order[pos]
    unknown = ids[idx] != edges
    if unknown.any():
        e = np.argwhere(unknown)[0]
        raise TracksFormatError(f"{where}: edge ({edges[e[0], 0]}, {edges[e[0], 1]}) names node {edges[e[0], e[1]]}, "
                                f"which is not in the graph")
    src, dst = idx[:, 0], idx[:, 1]
    same = t[src] == t[dst]
    if same.any():
        e = int(np.flatnonzero(same)[0])
        raise TracksFormatError(f"{where}: edge ({ids[src[e]]}, {ids[dst[e]]}) joins two nodes of the same time "
                                f"{t[src[e]]:g} (an edge links a spot to a later one)")
    flip = t[src] > t[dst]
    return np.where(flip, dst, src), np.where(flip, src, dst)


def _mothers(track: np.ndarray, src: np.ndarray, dst: np.ndarray, where: str) -> np.ndarray:
    """Mother's track id (or NO_PARENT) per node: the one other track whose edges lead into the node's track.

    A track entered from several tracks (a merge) gets no mother, with a warning.
    """
    cross = track[src] != track[dst]
    links = pd.DataFrame({"child": track[dst][cross], "mother": track[src][cross]}).drop_duplicates()
    merged = links["child"].duplicated(keep=False).to_numpy()
    if merged.any():
        warnings.warn(f"{where}: {links['child'][merged].nunique()} track(s) are entered from several tracks (a merge); "
                      f"they are read without a mother", stacklevel=4)
    mother = links[~merged].set_index("child")["mother"]
    return mother.reindex(track).fillna(NO_PARENT).to_numpy(dtype=np.int64)


def _tracklets(src: np.ndarray, dst: np.ndarray, t: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Track id per node: the graph's tracklets, numbered from 1 in order of their first (time, node id).

    A node continues its predecessor's track when that edge is the only one out of the predecessor
    and the only one into the node (``src``, ``dst``: node indices of the edges, earlier to later).
    """
    n = len(t)
    out_deg, in_deg = np.bincount(src, minlength=n), np.bincount(dst, minlength=n)
    cont = (out_deg[src] == 1) & (in_deg[dst] == 1)
    head = np.arange(n)
    head[dst[cont]] = src[cont]
    while True:  # pointer jumping: every node points at its tracklet's first node
        nxt = head[head]
        if np.array_equal(nxt, head):
            break
        head = nxt
    firsts = np.unique(head)
    firsts = firsts[np.lexsort((ids[firsts], t[firsts]))]
    number = np.empty(n, dtype=np.int64)
    number[firsts] = np.arange(1, len(firsts) + 1)
    return number[head]


def _axes(metadata, where: str) -> tuple[dict[str, str], str | None, float | None, float, dict]:
    """Roles of the axes, their length unit, the frame interval (s), the time factor to s, and scales.

    Returns ``(columns, length_unit, frame_interval_s, time_to_s, scale)`` with ``time_to_s`` 0
    when the time axis holds frame indices and ``scale`` ``{name: (factor, offset)}``.
    """
    axes = list(metadata.axes or [])
    time = [a for a in axes if a.type == "time"]
    space = [a for a in axes if a.type == "space"]
    columns: dict[str, str] = {}
    frame_interval_s, time_to_s = None, 0.0
    if time:
        a = time[0]
        columns["frame"] = a.name
        if a.unit in (None, "frame", "frames"):
            if a.scale is not None and a.scaled_unit:
                s = to_s_factor(a.scaled_unit, None)
                frame_interval_s = None if s is None else float(a.scale) * s
        else:
            time_to_s = to_s_factor(a.unit, None) or 0.0
            if not time_to_s:
                raise TracksFormatError(f"{where}: time axis {a.name!r} has unit {a.unit!r} (expected frame, second, "
                                        f"minute, hour or millisecond)")
    names = [a.name for a in space]
    xy = ["x", "y"] if {"x", "y"} <= set(names) else names[-1:] + names[-2:-1]
    for role, name in zip(("x", "y"), xy):
        columns[role] = name
    rest = [n for n in names if n not in xy]
    if rest:
        columns["z"] = rest[0]
    scale, units = {}, set()
    for a in space:
        if a.scale is not None and a.scaled_unit:
            scale[a.name] = (float(a.scale), float(a.offset or 0.0))
            units.add(a.scaled_unit)
        else:
            units.add(a.unit)
    if len(units) > 1:
        raise TracksFormatError(f"{where}: the space axes have different units {sorted(map(str, units))}")
    return columns, (units.pop() if units else None), frame_interval_s, time_to_s, scale


def read_geff(path: Path, opts: ReadOptions, fov_um: tuple[float, float, float, float] | None = None) -> Tracks:
    """Read a geff folder (see the module docstring); needs the optional ``geff`` package."""
    path = Path(path)
    where = f"{path} (geff; rows are node ids)"
    try:
        g = _geff_io().read_to_memory(str(path))
    except (ValueError, KeyError, OSError) as err:
        raise TracksFormatError(f"{path}: not a readable geff ({' '.join(str(err).split())[:300]})") from err
    meta, ids = g["metadata"], np.asarray(g["node_ids"])
    if len(ids) == 0:
        raise TracksFormatError(f"{path}: the graph has no nodes (no spots)")
    df = pd.DataFrame({name: np.where(p["missing"], np.nan, p["values"]) if p.get("missing") is not None
                       else p["values"] for name, p in g["node_props"].items() if np.ndim(p["values"]) == 1})
    columns, length_unit, dt_s, time_to_s, scale = _axes(meta, where)
    for name, (factor, offset) in scale.items():
        df[name] = df[name].to_numpy(dtype=float) * factor + offset
    given = opts.columns or {}
    edges = np.asarray(g["edge_ids"]).reshape(-1, 2)
    time_col = given.get("frame") or given.get("time_s") or columns.get("frame")
    if time_col is None or time_col not in df:
        raise TracksFormatError(f"{path}: no time axis in the metadata and no --columns frame=PROP; node properties "
                                f"are {sorted(df.columns)}")
    if time_to_s and "time_s" not in given and "frame" not in given:
        df[time_col] = df[time_col].to_numpy(dtype=float) * time_to_s
        columns["time_s"] = columns.pop("frame")
    src, dst = _oriented(ids, edges, df[time_col].to_numpy(dtype=float), where)
    tracklet = given.get("track") or (meta.track_node_props or {}).get("tracklet")
    if not (tracklet and tracklet in df):
        tracklet = TRACK_FROM_EDGES
        df[tracklet] = _tracklets(src, dst, df[time_col].to_numpy(dtype=float), ids)
    df[PARENT_FROM_EDGES] = _mothers(df[tracklet].to_numpy(), src, dst, where)
    columns["track"], columns["parent"] = tracklet, PARENT_FROM_EDGES
    if meta.sphere and meta.sphere in df:
        columns["radius"] = meta.sphere
    spec = with_columns(FormatSpec("geff", "geff graph", columns, required=tuple(columns)), opts)
    table = ColumnTable(df, ids, where)
    fields = {"dataset": path.name.removesuffix(".zarr").removesuffix(".geff"), "source_path": str(path),
              "source_sha256": folder_sha256(path), "fov_um": fov_um}
    return tracks_from_columns(table, spec, opts, fields, length_unit=length_unit, frame_interval_s=dt_s)


def write_geff(tracks: Tracks, path: Path, overwrite: bool = False) -> None:
    """Write ``tracks`` as a geff folder at ``path`` (see the module docstring), atomically.

    The graph is written into a temporary folder beside ``path`` and renamed into place; an
    existing ``path`` is refused unless ``overwrite``.
    """
    core_io = _geff_io()
    from geff import GeffMetadata
    from geff_spec import Axis

    path = Path(path)
    if path.exists() and not overwrite:
        raise ConfigError(f"{path} exists already and overwrite is off: write elsewhere or turn overwrite on")
    df = tracks.df
    by_track = df.sort_values(["track_id", "frame"], kind="stable")
    rows, tid = by_track.index.to_numpy(), by_track["track_id"].to_numpy()
    same = tid[1:] == tid[:-1]
    edges = [np.stack([rows[:-1][same], rows[1:][same]], axis=1)]
    if "parent_id" in df and (df["parent_id"] != NO_PARENT).any():
        first = by_track.groupby("track_id").head(1)
        ends = pd.Series(rows, index=tid).groupby(level=0).last()  # each track's last row
        daughters = first[first["parent_id"].isin(ends.index)]
        edges.append(np.stack([ends.loc[daughters["parent_id"]].to_numpy(), daughters.index.to_numpy()], axis=1))
    props = {"t": df["frame"].to_numpy(), "y": df["y_um"].to_numpy(), "x": df["x_um"].to_numpy(),
             "track_id": df["track_id"].to_numpy()}
    if "radius_um" in df:
        props["radius_um"] = df["radius_um"].to_numpy()
    dt_s = tracks.meta.frame_interval_s
    axes = [Axis(name="t", type="time", unit="frame", **({"scale": dt_s, "scaled_unit": "second"} if dt_s else {})),
            Axis(name="y", type="space", unit="micrometer"), Axis(name="x", type="space", unit="micrometer")]
    meta = GeffMetadata(directed=True, axes=axes, track_node_props={"tracklet": "track_id"},
                        sphere="radius_um" if "radius_um" in df else None, node_props_metadata={},
                        edge_props_metadata={}, extra={"cellbench": {"dataset": tracks.meta.dataset,
                                                                     "source_sha256": tracks.meta.source_sha256}})
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    core_io.write_arrays(str(tmp), np.arange(len(df), dtype=np.int64),
                         {k: {"values": v, "missing": None} for k, v in props.items()},
                         np.concatenate(edges).astype(np.int64), {}, meta)
    old = path.with_name(f".{path.name}.{os.getpid()}.old")
    if path.exists():
        path.rename(old)
    tmp.rename(path)
    shutil.rmtree(old, ignore_errors=True)
