"""One registry of every predictor that ``cellbench run --model`` accepts.

A predictor fits on a :class:`~cellbench.data.dataset.Dataset` (reading only training and
validation targets) and predicts a displacement for every row of every sequence:

.. code-block:: python

    class Predictor(Protocol):
        def fit(self, data: Dataset, seed: int) -> "Predictor": ...
        def predict(self, data: Dataset) -> list[np.ndarray]:  # per sequence, (n_rows, 2) um/frame

Modules register factories with :func:`register`; :func:`build` makes one by name.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, Protocol

import numpy as np

from cellbench.errors import ConfigError


class Predictor(Protocol):
    def fit(self, data, seed: int) -> "Predictor": ...

    def predict(self, data) -> list[np.ndarray]: ...


@dataclass(frozen=True)
class Entry:
    factory: Callable[..., Predictor]
    summary: str
    kind: str  # "reference", "oracle" or "learned"
    needs_truth: bool = False


MODELS: dict[str, Entry] = {}
_PLUGINS = ("cellbench.models.references", "cellbench.models.oracle", "cellbench.models.physattn")


def register(name: str, summary: str, kind: str = "learned", needs_truth: bool = False):
    """Decorator adding a predictor factory under ``name``."""

    def add(factory):
        if name in MODELS:
            raise ValueError(f"model {name!r} registered twice")
        MODELS[name] = Entry(factory, summary, kind, needs_truth)
        return factory

    return add


def load_all() -> dict[str, Entry]:
    """Import every module that registers models (missing optional ones are skipped)."""
    for mod in _PLUGINS:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as err:
            if err.name != mod:
                raise
    return MODELS


def build(name: str, **options) -> Predictor:
    load_all()
    if name not in MODELS:
        raise ConfigError(f"--model {name!r} is unknown; choose one of {sorted(MODELS)}")
    return MODELS[name].factory(**options)
