"""Every metric (pointwise, uncertainty, interactions) and the scoring and outputs of a run."""
