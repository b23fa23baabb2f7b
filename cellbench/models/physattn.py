"""Registers the learned models: ``physattn`` here, the graph and temporal baselines in their modules.

Every learned model is a :class:`~cellbench.train.learned.LearnedModel` that differs only
in its graph block, and trains through the one loop :func:`cellbench.train.loop.fit`.
"""

from __future__ import annotations

from cellbench.train.learned import LearnedModel
from cellbench.models.registry import register

import cellbench.models.gat  # noqa: F401,E402  (registers "gat")
import cellbench.models.lstm  # noqa: F401,E402  (registers "lstm")
import cellbench.models.transformer  # noqa: F401,E402  (registers "transformer")

DEFAULT_ETA_MAX = 0.1
"""physattn's default final KL weight (``--eta-max``)."""


@register("physattn", "the paper's method: TransformerConv + prior gamma*C~ in the logits + KL(alpha||pi), track LSTM")
def physattn(**options) -> LearnedModel:
    train = dict(options.pop("train", None) or {})
    train.setdefault("eta_max", DEFAULT_ETA_MAX)
    return LearnedModel(conv="physattn", train=train, **options)
