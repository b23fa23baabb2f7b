"""``transformer``: physattn without prior and KL (plain PyG TransformerConv blocks, same LSTM and head)."""

from __future__ import annotations

from cellbench.train.learned import LearnedModel
from cellbench.models.registry import register


@register("transformer", "two plain TransformerConv blocks + track LSTM (physattn without prior and KL)")
def transformer(**options) -> LearnedModel:
    options.pop("gamma", None)
    options.pop("prior_transform", None)
    return LearnedModel(conv="transformer", **options)
