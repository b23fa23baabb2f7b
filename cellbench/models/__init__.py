"""Learned models: the physattn network and the layers the graph baselines share with it."""
