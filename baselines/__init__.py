"""Baseline predictors: trivial references, the simulator oracle and learned baselines."""
