"""``gat``: two GATConv blocks (no added self loops, edge features), the track LSTM and the head of physattn."""

from __future__ import annotations

from cellbench.train.learned import LearnedModel
from cellbench.models.registry import register


@register("gat", "two GATConv blocks (no added self loops) + track LSTM, no prior")
def gat(**options) -> LearnedModel:
    options.pop("gamma", None)
    options.pop("prior_transform", None)
    return LearnedModel(conv="gat", **options)
