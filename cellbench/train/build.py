"""Build a registered model by name: a predictor ready for ``fit(data, seed)`` / ``predict(data)``.

The registry (:mod:`cellbench.models.registry`) holds metadata and factories only; this is the
one place that turns an entry into a predictor. A ``'learned'`` entry's factory is a network
class, wrapped here in :class:`~cellbench.train.learned.LearnedModel` (the one training loop);
a reference or the oracle is made by its own factory. Torch is imported only for learned models.
"""

from __future__ import annotations

from cellbench.models.registry import Predictor, entry


def build(name: str, **options) -> Predictor:
    """Make the model registered as ``name`` with its registry defaults overridden by ``options``.

    Parameters
    ----------
    name : a registered name (``cellbench run --help`` lists them).
    **options : factory options; for learned models those of
        :class:`~cellbench.train.learned.LearnedModel` (hidden, heads, gamma, heteroscedastic,
        r_cut_um, prior_transform, prior_bias, train={...}). ``train`` is merged key by key into
        the defaults' (physattn keeps its default ``eta_max`` unless it is given).

    Raises
    ------
    ConfigError : the name is not registered (the message lists the registered ones).
    """
    model = entry(name)
    factory = model.load()
    options = model.options(**options)
    if model.kind == "learned":
        from cellbench.train.learned import LearnedModel

        return LearnedModel(factory, **options)
    return factory(**options)


def nest_options(options: dict) -> dict:
    """Dotted option names as sweeps and tuning write them -> :func:`build`'s nested options:
    ``{"train.eta_max": 0.1, "gamma": 1}`` -> ``{"train": {"eta_max": 0.1}, "gamma": 1}``."""
    out: dict = {}
    for key, value in options.items():
        *parents, leaf = key.split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out
