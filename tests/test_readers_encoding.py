"""Text that is not UTF-8: read in the encoding its bytes show, with a warning naming it, or refused.

Before issue 13, bytes that were not UTF-8 were replaced silently: a Latin-1 ``(µm)`` was
reported as ``unknown spatial unit '(�m)'``, a bad header byte became a feature column
``rad�ius``, and a UTF-16 file gave ``missing column(s)``.
"""

from __future__ import annotations

import warnings

import numpy.testing as npt
import pytest

from cellbench.data.readers import read_tracks
from cellbench.data.readers.common import TextEncodingWarning, decode_text
from cellbench.errors import TracksFormatError
from tests.conftest import csv_spots, ctc_division, trackmate_csv_text, trackmate_xml_text, write_ctc, xml_chain

X_UM = [0.0, 10.0, 1.0, 11.0, 2.0, 12.0]  # csv_spots() in table order


def _read_warning(path, **kwargs):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        t = read_tracks(path, **kwargs)
    found = [w for w in record if w.category is TextEncodingWarning]
    assert len(found) == 1, [str(w.message) for w in record]
    return t, str(found[0].message)


def test_latin1_micro_sign_is_read_with_a_warning(tmp_path):
    path = tmp_path / "latin1_spots.csv"
    path.write_bytes(trackmate_csv_text(csv_spots(), length_unit="µm").encode("latin-1"))
    t, msg = _read_warning(path)
    npt.assert_array_equal(t.df["x_um"], X_UM)
    assert str(path) in msg and "row 4" in msg and "0xb5" in msg and "Latin-1" in msg and "'µ'" in msg


def test_bad_header_byte_is_named_by_row(tmp_path):
    path = tmp_path / "byte_spots.csv"
    path.write_bytes(trackmate_csv_text(csv_spots()).replace("RADIUS", "RAD\xffIUS", 1).encode("latin-1"))
    t, msg = _read_warning(path)
    assert "row 1" in msg and "0xff" in msg
    assert "radÿius" in t.df.columns  # read as Latin-1, never as a replacement character
    assert not any("\ufffd" in c for c in t.df.columns)


@pytest.mark.parametrize("codec, label", [("utf-16", "UTF-16"), ("utf-16-le", "UTF-16-LE"), ("utf-16-be", "UTF-16-BE"),
                                          ("utf-32", "UTF-32")])
def test_utf16_and_utf32_are_read_with_a_warning(tmp_path, codec, label):
    path = tmp_path / "wide_chars_spots.csv"
    path.write_bytes(trackmate_csv_text(csv_spots()).encode(codec))
    t, msg = _read_warning(path)
    npt.assert_array_equal(t.df["x_um"], X_UM)
    assert str(path) in msg and label in msg


def test_utf8_with_and_without_bom_reads_silently(tmp_path):
    for name, data in (("plain_spots.csv", trackmate_csv_text(csv_spots(), length_unit="µm").encode()),
                       ("bom_spots.csv", "\ufeff".encode() + trackmate_csv_text(csv_spots(), length_unit="μm").encode())):
        (tmp_path / name).write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            npt.assert_array_equal(read_tracks(tmp_path / name).df["x_um"], X_UM)


def test_mixed_encodings_and_nul_bytes_are_refused(tmp_path):
    mixed = tmp_path / "mixed_spots.csv"
    mixed.write_bytes(trackmate_csv_text(csv_spots(), length_unit="µm").encode() + "ID9,µ\n".encode("latin-1"))
    with pytest.raises(TracksFormatError, match=r"mixed_spots.csv, row 11, byte 5: byte 0xb5 is not UTF-8, but row 4"):
        read_tracks(mixed)
    nul = tmp_path / "nul_spots.csv"
    nul.write_bytes(trackmate_csv_text(csv_spots()).replace("ID3", "ID\x003").encode())
    with pytest.raises(TracksFormatError, match=r"nul_spots.csv, row 8, byte 3: NUL byte"):
        read_tracks(nul)


def test_decode_text_names_a_truncated_bom_file():
    with pytest.raises(TracksFormatError, match="f.txt, line 1.*UTF-16 byte-order mark"):
        decode_text("ab".encode("utf-16")[:-1], "f.txt", "line")


def test_ctc_track_file_in_utf16_is_read(tmp_path):
    masks, text = ctc_division()
    folder = write_ctc(tmp_path / "01_GT" / "TRA", masks, text)
    (folder / "man_track.txt").write_bytes(text.encode("utf-16"))
    t, msg = _read_warning(folder, pixel_um=1.0)
    assert t.n_rows == 6 and "man_track.txt" in msg and "UTF-16" in msg


def test_xml_in_another_encoding_than_declared_is_named(tmp_path):
    path = tmp_path / "latin1.xml"
    path.write_bytes(trackmate_xml_text(*xml_chain(), spatialunits="µm").encode("latin-1"))
    with pytest.raises(TracksFormatError, match=r"latin1.xml, line 3, column \d+: .*byte 0xb5 is not UTF-8"):
        read_tracks(path)
