"""Write the bad-input corpus of this folder (run from the repository root: ``python -m tests.data.bad_inputs.make_corpus``).

Every file is small (under 4 KB); inputs that are big or expand to something big (wide CSVs,
50 MB headers, compressed TIFF bombs) are generated inside the tests instead. ``cases.json``
says what each input must give: an error holding some words, or a table of some rows (with a
warning of some class).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import tifffile

from tests.conftest import csv_spots, ctc_division, trackmate_csv_text, trackmate_xml_text, write_ctc, xml_chain

HERE = Path(__file__).resolve().parent


def _table(**change) -> pd.DataFrame:
    df = pd.DataFrame({"track_id": [1, 2, 1, 2], "frame": [0, 0, 1, 1], "x_um": [0.0, 5.0, 1.0, 6.0],
                       "y_um": [0.0, 0.0, 0.0, 0.0]})
    return df.assign(**change)


def main() -> None:
    for p in HERE.iterdir():
        if p.name not in ("make_corpus.py", "__init__.py"):
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    spots = trackmate_csv_text(csv_spots())
    cases: dict[str, dict] = {}

    def case(name: str, path: str, words=(), loads: int | None = None, warns: str | None = None, **kwargs) -> None:
        cases[name] = {"path": path, "words": list(words), "loads": loads, "warns": warns, "kwargs": kwargs}

    (HERE / "latin1_micron_spots.csv").write_bytes(trackmate_csv_text(csv_spots(), length_unit="µm").encode("latin-1"))
    case("csv Latin-1 (µm) units row", "latin1_micron_spots.csv", ["Latin-1", "row 4", "0xb5"], loads=6,
         warns="TextEncodingWarning")
    (HERE / "utf16_bom_spots.csv").write_bytes(spots.encode("utf-16"))
    case("csv UTF-16 with a byte-order mark", "utf16_bom_spots.csv", ["UTF-16"], loads=6, warns="TextEncodingWarning")
    (HERE / "utf16le_spots.csv").write_bytes(spots.encode("utf-16-le"))
    case("csv UTF-16-LE without a byte-order mark", "utf16le_spots.csv", ["UTF-16-LE"], loads=6,
         warns="TextEncodingWarning")
    (HERE / "bad_header_byte_spots.csv").write_bytes(spots.replace("RADIUS", "RAD\xffIUS", 1).encode("latin-1"))
    case("csv a non-UTF-8 byte in the header", "bad_header_byte_spots.csv", ["row 1", "0xff", "Latin-1"], loads=6,
         warns="TextEncodingWarning")
    (HERE / "mixed_encoding_spots.csv").write_bytes(
        trackmate_csv_text(csv_spots(), length_unit="µm").encode("utf-8") + "ID9,µ\n".encode("latin-1"))
    case("csv UTF-8 and Latin-1 mixed", "mixed_encoding_spots.csv", ["row 11", "0xb5", "row 4", "mixes encodings"])
    (HERE / "nul_byte_spots.csv").write_bytes(spots.replace("ID3", "ID\x003", 1).encode())
    case("csv NUL byte", "nul_byte_spots.csv", ["row 8", "NUL byte"])
    (HERE / "duplicate_column_spots.csv").write_text(spots.replace("POSITION_Z", "POSITION_X", 1))
    case("csv a column named twice", "duplicate_column_spots.csv", ["row 1", "'POSITION_X' appears twice", "columns 5 and 7"])
    (HERE / "one_header_row_spots.csv").write_text(trackmate_csv_text(csv_spots(), length_unit=None))
    case("csv one header row, no unit", "one_header_row_spots.csv", ["state no unit", "--pixel-um", "4-header-row"])

    for name, df, words in (
        ("numbers as text", _table(x_um=["0", "5", "1", "6"]), ["'x_um'", "string", "stored as text"]),
        ("boolean x", _table(x_um=[True, False, True, False]), ["'x_um'", "bool"]),
        ("uint64 track id", _table(track_id=np.array([1, 2**64 - 1, 1, 2**64 - 1], dtype=np.uint64)),
         ["rows 2, 4", "'track_id'", "18446744073709551615", "int64"]),
        ("frame 2**62", _table(frame=[0, 0, 1, 2**62]), ["row 4", "'frame'", "2**53"]),
    ):
        file = name.replace(" ", "_").replace("*", "") + ".parquet"
        df.to_parquet(HERE / file, index=False)
        case(f"parquet {name}", file, words)
    _table(frame=[0, 0, 10**12, 10**12]).to_parquet(HERE / "sparse_frames.parquet", index=False)
    case("parquet sparse frames (0 and 10**12)", "sparse_frames.parquet", loads=4)

    masks, text = ctc_division()
    write_ctc(HERE / "ctc_end_1e12" / "01_GT" / "TRA", masks, "1 0 1 0\n2 2 3 1\n3 2 1000000000000 1\n")
    case("ctc track file ending at frame 10**12", "ctc_end_1e12/01_GT/TRA",
         ["man_track.txt, line 3", "frame 1000000000000"], pixel_um=1.0)
    folder = write_ctc(HERE / "ctc_forged_100000px" / "01_GT" / "TRA", masks, text)
    with tifffile.TiffFile(folder / "man_track000.tif", mode="r+b") as tif:
        tif.pages[0].tags["ImageWidth"].overwrite(100000)
        tif.pages[0].tags["ImageLength"].overwrite(100000)
    case("ctc mask whose tags declare 100000 x 100000", "ctc_forged_100000px/01_GT/TRA",
         ["man_track000.tif, frame 0", "100000 x 100000"], pixel_um=1.0)
    folder = write_ctc(HERE / "ctc_utf16_track_file" / "01_GT" / "TRA", masks, text)
    (folder / "man_track.txt").write_bytes(text.encode("utf-16"))
    case("ctc track file in UTF-16", "ctc_utf16_track_file/01_GT/TRA", ["UTF-16"], loads=6,
         warns="TextEncodingWarning", pixel_um=1.0)

    xml = trackmate_xml_text(*xml_chain(), spatialunits="µm")
    (HERE / "latin1_units.xml").write_bytes(xml.encode("latin-1"))
    case("xml Latin-1 byte under a UTF-8 declaration", "latin1_units.xml", ["line 3", "0xb5 is not UTF-8"])
    (HERE / "cases.json").write_text(json.dumps(cases, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
