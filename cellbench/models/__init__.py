"""Every model, references and oracle included, registered by name in :mod:`cellbench.models.registry`.

Learned models are network classes (:class:`~cellbench.models.net.GraphTemporalNet` subclasses,
one file each); the references and the oracle are predictors. Importing this package imports
neither torch nor any model: :mod:`~cellbench.models.registry` holds the metadata and imports a
model's module only when it is built.
"""
