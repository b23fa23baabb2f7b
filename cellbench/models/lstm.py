"""``lstm``: the track LSTM on each cell's own causal features, no graph."""

from __future__ import annotations

from cellbench.train.learned import LearnedModel
from cellbench.models.registry import register


@register("lstm", "per-track LSTM on the cell's own past displacements, no graph")
def lstm(**options) -> LearnedModel:
    options.pop("gamma", None)
    options.pop("prior_transform", None)
    return LearnedModel(conv="none", **options)
