"""One registry of every model that ``cellbench run --model`` accepts: metadata and factories only.

Every model is an :class:`Entry`: its name, a one-line summary, its kind (``'reference'``,
``'oracle'`` or ``'learned'``), whether it reads simulator truth, its default options and its
factory. The built-in models are declared at the bottom of this module by the dotted path of the
class that implements them (``'cellbench.models.physattn:PhysAttnNet'``); that module is imported
only when the model is built, so listing the models (``cellbench --help``, the leaderboards) never
imports torch.

The factory of a ``'reference'`` or ``'oracle'`` entry makes a predictor:

.. code-block:: python

    class Predictor(Protocol):
        def fit(self, data: Dataset, seed: int) -> "Predictor": ...
        def predict(self, data: Dataset) -> list[np.ndarray]:  # per sequence, (n_rows, 2) um/frame

The factory of a ``'learned'`` entry is a network class, a subclass of
:class:`~cellbench.models.net.GraphTemporalNet`; :func:`cellbench.train.build.build` wraps it in
the one learned predictor (:class:`~cellbench.train.learned.LearnedModel`), which trains it with
the one loop. A new model is one file and one registration: a built-in one is declared at the
bottom of this module, a plug-in registers its class with the decorator::

    @register("gatv2", "two GATv2Conv blocks + track LSTM")
    class GATv2Net(GraphTemporalNet):
        conv = "gatv2"

        def init_conv(self, in_channels, out_channels, heads, edge_dim):
            return GATv2Conv(in_channels, out_channels, heads=heads, edge_dim=edge_dim, add_self_loops=False)

and ``cellbench.train.build.build("gatv2", hidden=16)`` makes a predictor of it.

A model of ``kind='fitted'`` is any class with ``fit(data, seed)`` and ``predict(data)`` (numpy,
scipy, scikit-learn; no training loop), e.g. ``examples/custom_model.py``.

Plug-ins: models that live outside cellbench reach every command through one of

- ``--plugin MODULE`` or ``--plugin path/to/file.py`` (``run``, ``compare``, ``sweep``) or
  ``plugins = [...]`` in a sweep TOML: :func:`cellbench.models.plugins.load_plugins` imports
  them, and their import registers the models (sweeps import them on every Dask worker too);
- an installed distribution's entry point in the group ``cellbench.models``
  (``[project.entry-points."cellbench.models"] ridge = "mypkg.models"``): the module is imported
  the first time the registry is listed or asked for a name it does not hold
  (:func:`cellbench.models.plugins.load_entry_points`). A plug-in that fails to import is named,
  with its entry point, in a :class:`~cellbench.models.plugins.PluginWarning` and in the error
  of an unknown model name.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping, Protocol

from cellbench.errors import ConfigError

KINDS = ("reference", "oracle", "learned", "fitted")
"""'reference': a trivial baseline; 'oracle': reads the simulator's truth; 'learned': a network
trained by the one loop; 'fitted': any other model with its own ``fit(data, seed)`` / ``predict(data)``."""
ENTRY_POINT_GROUP = "cellbench.models"
"""The entry-point group through which installed distributions register models (:mod:`cellbench.models.plugins`)."""


class Predictor(Protocol):
    def fit(self, data, seed: int) -> "Predictor": ...

    def predict(self, data) -> list: ...


@dataclass(frozen=True)
class Entry:
    """One registered model.

    name : the ``--model`` name. summary : one line for ``--help`` and the leaderboards.
    kind : ``'reference'`` (a trivial baseline), ``'oracle'`` (reads the simulator's truth),
    ``'learned'`` (a network trained by the one loop) or ``'fitted'`` (a model of its own with
    ``fit`` / ``predict``, e.g. a plug-in regression). needs_truth : runs on simulated data only.
    defaults : options applied under the caller's (nested dicts, e.g. ``{'train': {'eta_max': 0.1}}``,
    are merged key by key). target : ``'module:attribute'`` of the factory, imported by
    :meth:`load`; or factory : the factory itself (plug-ins registered with the decorator).
    """

    name: str
    summary: str
    kind: str = "learned"
    needs_truth: bool = False
    defaults: Mapping[str, Any] = field(default_factory=dict)
    target: str | None = None
    factory: Callable | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"model {self.name!r}: kind {self.kind!r} is unknown; choose one of {KINDS}")
        if (self.target is None) == (self.factory is None):
            raise ValueError(f"model {self.name!r}: give exactly one of target and factory")
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))

    def load(self) -> Callable:
        """The factory: a predictor class (reference, oracle) or a network class (learned)."""
        if self.factory is not None:
            return self.factory
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)

    @property
    def flat_defaults(self) -> dict[str, Any]:
        """:attr:`defaults` with dotted keys, as sweeps name options: ``{'train.eta_max': 0.1, 'gamma': 1.0}``."""
        out: dict[str, Any] = {}
        for key, value in self.defaults.items():
            if isinstance(value, Mapping):
                out.update({f"{key}.{k}": v for k, v in value.items()})
            else:
                out[key] = value
        return out

    def options(self, **given) -> dict[str, Any]:
        """:attr:`defaults` overridden by ``given``; a nested dict (``train``) is merged key by key."""
        out = {k: dict(v) if isinstance(v, Mapping) else v for k, v in self.defaults.items()}
        for key, value in given.items():
            if isinstance(out.get(key), dict) and (value is None or isinstance(value, Mapping)):
                out[key] = {**out[key], **(value or {})}
            else:
                out[key] = value
        return out


def load_entry_points() -> None:
    """Import the installed plug-ins not tried yet (:func:`cellbench.models.plugins.load_entry_points`)."""
    from cellbench.models import plugins

    plugins.load_entry_points()


class _Registry(dict):
    """A dict of entries that loads the installed plug-ins (:func:`load_entry_points`) before it is
    listed or answers that it lacks a name; a built-in name is found without looking for plug-ins."""

    def __missing__(self, name):
        load_entry_points()
        if dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        raise KeyError(name)

    def __contains__(self, name) -> bool:
        if dict.__contains__(self, name):
            return True
        load_entry_points()
        return dict.__contains__(self, name)

    def get(self, name, default=None):
        return self[name] if name in self else default

    def __iter__(self):
        load_entry_points()
        return dict.__iter__(self)

    def __len__(self) -> int:
        load_entry_points()
        return dict.__len__(self)

    def keys(self):
        load_entry_points()
        return dict.keys(self)

    def values(self):
        load_entry_points()
        return dict.values(self)

    def items(self):
        load_entry_points()
        return dict.items(self)


MODELS: dict[str, Entry] = _Registry()
"""Every registered model by name, in registration order (references, oracle, learned models, then plug-ins)."""


def _add(entry: Entry) -> Entry:
    if dict.__contains__(MODELS, entry.name):
        raise ValueError(f"model {entry.name!r} registered twice")
    dict.__setitem__(MODELS, entry.name, entry)
    return entry


def register(name: str, summary: str, kind: str = "learned", needs_truth: bool = False,
             defaults: Mapping[str, Any] | None = None):
    """Decorator adding ``factory`` (a predictor class, or a network class for ``kind='learned'``) under ``name``."""

    def add(factory):
        _add(Entry(name, summary, kind, needs_truth, defaults or {}, factory=factory))
        return factory

    return add


def declare(name: str, summary: str, target: str, kind: str = "learned", needs_truth: bool = False,
            defaults: Mapping[str, Any] | None = None) -> Entry:
    """Add a model whose factory ``target`` (``'module:attribute'``) is imported only when it is built."""
    return _add(Entry(name, summary, kind, needs_truth, defaults or {}, target=target))


def entry(name: str) -> Entry:
    """The entry of ``name``; an unknown name raises :class:`~cellbench.errors.ConfigError` listing the known ones."""
    if name not in MODELS:
        raise unknown_model(name)
    return MODELS[name]


def unknown_model(name: str, where: str = "--model") -> ConfigError:
    """The error for a model name nobody registered: the known names, how to add a model, failed plug-ins."""
    text = (f"{where} {name!r} is unknown; choose one of {sorted(MODELS)} (a model of your own: --plugin MODULE "
            f"or --plugin FILE.py, plugins = [...] in a sweep TOML, or an installed {ENTRY_POINT_GROUP!r} entry point)")
    from cellbench.models.plugins import plugin_errors

    return ConfigError("; ".join([text, *plugin_errors()]))


def names(*kinds: str) -> tuple[str, ...]:
    """Registered names of the given kinds (all kinds when none is given), in registration order."""
    return tuple(n for n, e in MODELS.items() if not kinds or e.kind in kinds)


# -- built-in models: one declaration each, the implementation is imported when the model is built --

declare("zero", "predicts no displacement (the cell stays where it is)",
        "cellbench.models.references:Zero", kind="reference")
declare("const-velocity", "repeats the last step x(t) - x(t-1); 0 on a track's first frame",
        "cellbench.models.references:ConstVelocity", kind="reference")
declare("mean", "the mean training displacement (um per frame)",
        "cellbench.models.references:MeanDisplacement", kind="reference")
declare("ar", "autoregressive AR(k) per component on past steps, least squares on train",
        "cellbench.models.references:AutoRegressive", kind="reference")
declare("oracle", "noise-free dynamics integrated over one frame from the true state (simulated data only)",
        "cellbench.models.oracle:Oracle", kind="oracle", needs_truth=True)
declare("lstm", "per-track LSTM on the cell's own past displacements, no graph",
        "cellbench.models.lstm:LSTMNet")
declare("gat", "two GATConv blocks (self loops + residual skip) + track LSTM, no prior",
        "cellbench.models.gat:GATNet")
declare("egnn", "two E(2)-equivariant EGNN blocks on relative positions + track LSTM on invariants, no prior",
        "cellbench.models.egnn:EGNNNet")
declare("transformer", "two plain TransformerConv blocks + track LSTM (physattn without prior and KL)",
        "cellbench.models.transformer:TransformerNet")
declare("physattn", "the paper's method: TransformerConv + prior gamma*C~ in the logits + KL(alpha||pi), track LSTM",
        "cellbench.models.physattn:PhysAttnNet",
        defaults={"gamma": 1.0, "prior_bias": True, "prior_transform": "signed", "prior_scale": "robust",
                  "learn_gamma": False, "gamma_init": 0.1, "train": {"eta_max": 0.1, "kl_reduce": "mean"}})
declare("filtered-oracle", "a particle filter over each heading: true equations, observed positions <= t only",
        "cellbench.models.filtered_oracle:FilteredOracle", kind="oracle", needs_truth=True)
declare("pairforce", "positive control: learned pair force sum_j f(r_ij) e_ji + track LSTM on the active residual",
        "cellbench.models.pairforce:PairForceNet", defaults={"n_lags": 4})
