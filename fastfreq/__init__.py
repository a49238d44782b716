"""fastfreq: frequency-aware anomaly synthesis and wavelet features."""
