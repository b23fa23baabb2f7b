"""TrackMate XML, step 1: the parts of a session file the reader uses, and checks of their attributes.

:func:`parse_document` streams the file through expat and keeps every element the reader
needs with its line number, so that errors name the line as seen in the file. The checks raise
:class:`~cellbench.errors.TracksFormatError` naming the file, the line and the element.
Used by :mod:`cellbench.data.readers.trackmate_xml` (see there for what is read).
"""

from __future__ import annotations

import xml.parsers.expat
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from cellbench.data.tracks import MAX_ABS_COORD_UM
from cellbench.errors import TracksFormatError


@dataclass
class XmlElement:
    """One element of the file: its line number and its attributes."""

    line: int
    attrs: dict


@dataclass
class TrackMateDocument:
    """The parts of a TrackMate XML that the reader uses, each with its line number."""

    root: str | None = None
    model: dict | None = None
    image_data: dict | None = None
    has_all_spots: bool = False
    spots: list[XmlElement] = field(default_factory=list)
    spots_in_frame: list[str | None] = field(default_factory=list)  # the enclosing SpotsInFrame's frame
    tracks: list[XmlElement] = field(default_factory=list)
    edges: list[XmlElement] = field(default_factory=list)
    edge_track: list[int] = field(default_factory=list)  # index into ``tracks``
    filtered: list[XmlElement] | None = None
    spot_dimensions: dict[str, str] = field(default_factory=dict)  # feature -> LENGTH, AREA, ...


def parse_document(path: Path, where: str) -> TrackMateDocument:
    """Stream the file through expat (the parser under ElementTree), keeping line numbers."""
    doc = TrackMateDocument()
    stack: list[str] = []
    current: dict[str, str | None] = {"frame": None}  # the frame of the open <SpotsInFrame>
    parser = xml.parsers.expat.ParserCreate()

    def start(tag: str, attrs: dict) -> None:
        line = parser.CurrentLineNumber
        parent = stack[-1] if stack else None
        if parent is None:
            doc.root = tag
        elif tag == "Model" and len(stack) == 1:
            doc.model = attrs
        elif tag == "AllSpots" and parent == "Model":
            doc.has_all_spots = True
        elif tag == "Spot" and parent == "SpotsInFrame" and stack[-2] == "AllSpots":
            doc.spots.append(XmlElement(line, attrs))
            doc.spots_in_frame.append(current["frame"])
        elif tag == "SpotsInFrame":
            current["frame"] = attrs.get("frame")
        elif tag == "Track" and parent == "AllTracks":
            doc.tracks.append(XmlElement(line, attrs))
        elif tag == "Edge" and parent == "Track" and stack[-2] == "AllTracks":
            doc.edges.append(XmlElement(line, attrs))
            doc.edge_track.append(len(doc.tracks) - 1)
        elif tag == "FilteredTracks" and parent == "Model":
            doc.filtered = []
        elif tag == "TrackID" and parent == "FilteredTracks" and doc.filtered is not None:
            doc.filtered.append(XmlElement(line, attrs))
        elif tag == "Feature" and parent == "SpotFeatures" and "feature" in attrs:
            doc.spot_dimensions[attrs["feature"]] = attrs.get("dimension", "")
        elif tag == "ImageData" and parent == "Settings":
            doc.image_data = attrs
        stack.append(tag)

    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: stack.pop()
    try:
        with open(path, "rb") as f:
            parser.ParseFile(f)
    except xml.parsers.expat.ExpatError as err:
        what = xml.parsers.expat.ErrorString(err.code)
        hint = ""
        if err.code in (xml.parsers.expat.errors.codes[xml.parsers.expat.errors.XML_ERROR_NO_ELEMENTS],
                        xml.parsers.expat.errors.codes[xml.parsers.expat.errors.XML_ERROR_UNCLOSED_TOKEN]):
            hint = " (the file looks truncated: was it fully written?)"
        elif err.code == xml.parsers.expat.errors.codes[xml.parsers.expat.errors.XML_ERROR_INVALID_TOKEN]:
            hint = _encoding_hint(path, err.lineno)
        raise TracksFormatError(
            f"{where}, line {err.lineno}, column {err.offset + 1}: malformed XML: {what}{hint}"
        ) from err
    return doc


def _encoding_hint(path: Path, lineno: int) -> str:
    """A hint when an invalid token is a byte of another encoding (a Latin-1 ``µ`` in a UTF-8 file)."""
    with open(path, "rb") as f:
        for n, line in enumerate(f, start=1):
            if n == lineno:
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError as err:
                    return (f" (byte 0x{line[err.start]:02x} is not UTF-8: the file is in another encoding than its "
                            f"XML declaration says; save it as UTF-8)")
                return ""
    return ""


def check_document(doc: TrackMateDocument, where: str) -> None:
    if doc.root != "TrackMate":
        hint = ""
        if doc.root == "Tracks":
            hint = (
                " This looks like TrackMate's simplified 'Export tracks to XML' file, which carries no spot "
                "features or division links; save the session instead (File > Save) or export the spots CSV."
            )
        raise TracksFormatError(f"{where}, line 1: the root element is <{doc.root}>, expected <TrackMate>.{hint}")
    if doc.model is None:
        raise TracksFormatError(f"{where}: no <Model> element under <TrackMate> (not a TrackMate session file)")
    if not doc.has_all_spots:
        raise TracksFormatError(f"{where}: no <Model>/<AllSpots> element (not a TrackMate session file)")
    if not doc.spots:
        raise TracksFormatError(f"{where}: <AllSpots> holds no <Spot> (no spots: nothing to read)")


def integer_attr(
    table: pd.DataFrame, name: str, where: str, lines: np.ndarray, element: str, minimum: int | None, ids=None
) -> np.ndarray:
    """One integer attribute of every element; errors name the line (and spot ID when known)."""
    raw = table[name] if name in table.columns else pd.Series([None] * len(table), dtype=object)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64")
    bad = ~np.isfinite(values) | (values != np.round(values)) | (np.abs(values) > 2.0**53)  # 2**53: exact in float64
    if minimum is not None:
        bad |= values < minimum
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        who = f"{element} ID={ids[i]}" if ids is not None else element
        got = raw.iloc[i]
        what = "has no" if got is None or (isinstance(got, float) and np.isnan(got)) else f"has {got!r} as"
        expected = "an integer" if minimum is None else f"an integer >= {minimum}"
        expected += " of at most 2**53" if abs(values[i]) > 2.0**53 else ""
        raise TracksFormatError(f"{where}, line {lines[i]}: {who} {what} attribute {name} (expected {expected})")
    return values.astype(np.int64)


def float_attr(
    table: pd.DataFrame, name: str, where: str, lines: np.ndarray, ids: np.ndarray, rows: np.ndarray
) -> np.ndarray:
    raw = table[name].iloc[rows] if name in table.columns else pd.Series([None] * len(rows), dtype=object)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64")
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        got = raw.iloc[i]
        what = "has no" if got is None or (isinstance(got, float) and np.isnan(got)) else f"has {got!r} as"
        raise TracksFormatError(
            f"{where}, line {lines[rows[i]]}: Spot ID={ids[rows[i]]} {what} attribute {name} (expected a finite number)"
        )
    return values


def check_coordinate(v_um: np.ndarray, name: str, where: str, lines: np.ndarray, ids: np.ndarray) -> None:
    bad = np.abs(v_um) > MAX_ABS_COORD_UM
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise TracksFormatError(
            f"{where}, line {lines[i]}: Spot ID={ids[i]} attribute {name} is {v_um[i]:g} um, beyond "
            f"+-{MAX_ABS_COORD_UM:g} um (wrong units or a corrupt value?)"
        )


def check_unique(values: np.ndarray, lines: np.ndarray, where: str, element: str, name: str) -> None:
    _, first, counts = np.unique(values, return_index=True, return_counts=True)
    if (counts > 1).any():
        v = values[first[np.flatnonzero(counts > 1)[0]]]
        at = lines[values == v]
        raise TracksFormatError(
            f"{where}, line {at[1]}: {element} {name}={v} appears again (first at line {at[0]}); {name}s must be unique"
        )
