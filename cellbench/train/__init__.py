"""The one training loop shared by every learned model (:mod:`~cellbench.train.loop`), the predictor
wrapper around it (:mod:`~cellbench.train.learned`) and :func:`~cellbench.train.build.build`, which
makes any registered model by name."""
