"""Reference work shared by the runs on one dataset: computed once, cached on disk, reused.

Every run scores its model beside the same references (``zero``, ``const-velocity``, the
oracle) and the same truth (the simulator's probe responses). Their rollouts, free rollouts and
probes depend on the data, its split and the evaluation options, never on the run's model or
training seed: a sweep of 5 models x 3 training seeds on one trajectory would otherwise compute
them 15 times (the oracle's rollout replays the simulation, 1000-2000 steps per frame on the
passive presets).

The rule that makes the sharing exact
-------------------------------------
* Only the predictors named in :data:`SHARED` (and the truth, :data:`TRUTH`) are shared; the
  run's own model never is.
* Their random draws (sampled and free rollouts) use :data:`REFERENCE_SEED` whatever the run's
  seed (:func:`work_seed`), so a reference's numbers are the same in every run on the same data,
  with the cache on or off.
* The key of a cached result is a sha256 over the code version
  (:func:`cellbench.version.code_version`), the whole data (every column of every table, the
  blocks of the split, the simulator metadata), the predictor's name, what is computed and its
  options. Any change to one of them misses the cache; nothing is ever looked up by a partial key.

Files are pickles written atomically under ``$CELLBENCH_CACHE/shared`` (default
``~/.cache/cellbench/shared``); a file that cannot be read is recomputed and rewritten. Set
``CELLBENCH_SHARED_CACHE=0`` to switch the cache off (results are identical, only slower).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from cellbench.io import write_atomic

SHARED = frozenset({"zero", "const-velocity", "oracle"})
"""Predictors whose evaluation is shared between runs (the references every run scores)."""
TRUTH = "truth"
"""Name under which the simulator's own curves (probe truth) are shared."""
REFERENCE_SEED = 0
"""Seed of the shared predictors' random draws, whatever the run's seed."""


def work_seed(name: str, seed: int) -> int:
    """The seed of ``name``'s random draws in a run with seed ``seed`` (see the module docstring)."""
    return REFERENCE_SEED if name in SHARED else int(seed)


def cache_folder() -> Path:
    """``$CELLBENCH_CACHE/shared`` if the variable is set, else ``~/.cache/cellbench/shared``."""
    env = os.environ.get("CELLBENCH_CACHE")
    return (Path(env).expanduser() if env else Path.home() / ".cache" / "cellbench") / "shared"


@functools.lru_cache(maxsize=1)
def _code_version() -> str:
    from cellbench.version import code_version

    return code_version()


def data_key(data) -> str:
    """sha256 over every column of every table of ``data``, its blocks and its simulator metadata."""
    h = hashlib.sha256()
    for s in data.seqs:
        h.update(s.tracks.meta.dataset.encode())
        h.update(",".join(map(str, s.tracks.df.columns)).encode())
        h.update(pd.util.hash_pandas_object(s.tracks.df, index=True).to_numpy().tobytes())
        h.update(repr(s.tracks.periodic_box_um).encode())
        meta = getattr(s.truth, "meta", None)
        h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    h.update(repr([(b.seq, b.split, int(b.start_frame), int(b.stop_frame)) for b in data.blocks]).encode())
    return h.hexdigest()


class SharedWork:
    """Look up or compute one shared result (see the module docstring).

    Parameters
    ----------
    data : the run's :class:`~cellbench.data.dataset.Dataset`.
    folder : where results are cached; None (or ``CELLBENCH_SHARED_CACHE=0``): compute every time.
    """

    def __init__(self, data, folder: Path | None = None):
        off = os.environ.get("CELLBENCH_SHARED_CACHE", "1").strip().lower() in ("0", "false", "no", "off")
        self.folder = None if off else (cache_folder() if folder is None else Path(folder))
        self._data = data
        self._data_key: str | None = None

    @classmethod
    def off(cls, data=None) -> "SharedWork":
        """A :class:`SharedWork` that computes every time (no cache)."""
        work = cls(data)
        work.folder = None
        return work

    def get(self, name: str, what: str, params, compute: Callable[[], object]):
        """``compute()``, from the cache when ``name`` is shared and the same key was computed before.

        Parameters
        ----------
        name : the predictor (or :data:`TRUTH`). what : which result, e.g. ``"rollouts"``.
        params : everything else the result depends on (options, seed, block), reduced with ``repr``.
        """
        if self.folder is None or (name not in SHARED and name != TRUTH):
            return compute()
        path = self.folder / f"{self._key(name, what, params)}.pkl"
        if path.is_file():
            try:
                return pickle.loads(path.read_bytes())
            except Exception:  # noqa: BLE001 - a damaged or foreign file is recomputed, never trusted
                pass
        value = compute()
        try:
            write_atomic(path, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError:  # a read-only or full cache costs time, never a result
            pass
        return value

    def _key(self, name: str, what: str, params) -> str:
        if self._data_key is None:
            self._data_key = data_key(self._data)
        words = [_code_version(), self._data_key, name, what, _stable_repr(params)]
        return hashlib.sha256("\x1f".join(words).encode()).hexdigest()


def _stable_repr(params) -> str:
    """``repr`` with numpy arrays written out in full (their default repr elides long arrays)."""
    if isinstance(params, np.ndarray):
        return f"array({params.dtype},{params.shape},{hashlib.sha256(np.ascontiguousarray(params).tobytes()).hexdigest()})"
    if isinstance(params, (list, tuple)):
        return "(" + ",".join(_stable_repr(p) for p in params) + ")"
    if isinstance(params, dict):
        return "{" + ",".join(f"{k!r}:{_stable_repr(v)}" for k, v in sorted(params.items())) + "}"
    return repr(params)


__all__ = ["SHARED", "TRUTH", "REFERENCE_SEED", "work_seed", "cache_folder", "data_key", "SharedWork"]
