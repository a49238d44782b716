"""Thin anomaly-detection models built on fastfreq. Installed as ``fastfreq.models``."""
