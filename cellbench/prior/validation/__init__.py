"""What checks the prior estimator and nothing else uses: OZ solver, potentials, reference MC, truth tables."""
