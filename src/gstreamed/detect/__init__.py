"""The plain-Python detection core: preprocess, decode, detector and the result type."""
