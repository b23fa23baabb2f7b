"""The one training loop shared by every learned model, and the predictor wrapper around it."""
