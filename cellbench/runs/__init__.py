"""One run: configuration -> fitted model -> scored result folder; simulated datasets; sim-to-real."""
