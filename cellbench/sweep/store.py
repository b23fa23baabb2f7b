"""Results store: one JSON file per run, named by a hash of (spec, data sha256, code version).

Files are written atomically, so a sweep killed at any moment (even SIGKILL) leaves every
finished result intact and no half-written file; re-running the sweep skips them.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from cellbench.io import nan_to_null, read_json, to_json_bytes, write_json
from cellbench.version import PRESENTATION_ONLY, SOURCE_ROOT, code_version, source_files  # noqa: F401 (re-exported)

def git_commit() -> str:
    """Short git commit of the source tree ('' outside a git checkout), with '-dirty' if modified."""
    root = SOURCE_ROOT
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""
    return commit + ("-dirty" if commit and dirty else "")


def run_key(spec: dict, data_sha256: str, version: str) -> str:
    """Hex key (24 chars) of a run: sha256 of its canonical JSON description."""
    blob = json.dumps({"spec": spec, "data_sha256": data_sha256, "code_version": version}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def record_checksum(record: dict) -> str:
    """sha256 of a record's canonical JSON (its ``checksum`` field left out); the key is inside."""
    body = {k: v for k, v in record.items() if k != "checksum"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, allow_nan=False, default=str).encode()).hexdigest()


def check_record(path: Path) -> tuple[dict | None, str | None]:
    """(record, None) for a whole result file, or (None, what is wrong with it)."""
    try:
        record = read_json(path)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        return None, f"not valid JSON ({err}); truncated or damaged"
    except OSError as err:
        return None, f"unreadable ({err.strerror or err})"
    if not isinstance(record, dict):
        return None, f"holds a JSON {type(record).__name__}, expected a result record (an object)"
    if record.get("key") != path.stem:
        return None, f"its key {record.get('key')!r} does not match the file name: a foreign or renamed file"
    if "checksum" not in record:
        return None, "has no checksum: written by another tool or an older cellbench; rerun the sweep to replace it"
    if record["checksum"] != record_checksum(record):
        return None, "checksum mismatch: its content was changed after it was written"
    if record.get("status") not in ("done", "failed"):
        return None, f"status {record.get('status')!r}, expected 'done' or 'failed'"
    if record["status"] == "done" and not isinstance(record.get("metrics"), dict):
        return None, "status 'done' without metrics"
    return record, None


class ResultStore:
    """A folder of ``<key>.json`` result files, each carrying a checksum of its content and key.

    :meth:`records` returns the whole ones; :meth:`damaged` names every other ``*.json`` file
    and what is wrong with it (truncated, not a record, foreign key, edited after writing).
    A damaged file counts as no result, so a sweep reruns that run.
    """

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def status(self, key: str) -> str | None:
        """'done', 'failed' or None when the run has no whole result yet (a damaged file counts as none)."""
        p = self.path(key)
        if not p.exists():
            return None
        record, _ = check_record(p)
        return record["status"] if record is not None else None

    def write(self, key: str, record: dict) -> Path:
        path = self.path(key)
        record = {"key": key, **{k: v for k, v in record.items() if k not in ("key", "checksum")}}
        record, undefined = nan_to_null(json.loads(to_json_bytes(record)))  # valid JSON: NaN -> null
        if undefined:
            record["null_means_undefined"] = undefined
        # the checksum covers exactly what is read back
        record["checksum"] = record_checksum(record)
        write_json(path, record)
        return path

    def scan(self) -> tuple[list[dict], dict[Path, str]]:
        """(whole records sorted by key, {damaged file: what is wrong})."""
        good, bad = [], {}
        for p in sorted(self.root.glob("*.json")):
            record, problem = check_record(p)
            if problem is None:
                good.append(record)
            else:
                bad[p] = problem
        return good, bad

    def records(self) -> list[dict]:
        """Every whole result record, sorted by key (damaged files: see :meth:`damaged`)."""
        return self.scan()[0]

    def damaged(self) -> dict[Path, str]:
        """{path: what is wrong} for every ``*.json`` file in the folder that is not a whole record."""
        return self.scan()[1]
