"""Training, evaluation and prediction for the deepscreen classifier (needs torch)."""
