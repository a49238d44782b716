"""WE-PaDiM (Gardner et al. 2025) and the PaDiM baseline on one pipeline."""
from .gaussian import GaussianModel, GaussianStats
from .model import GaussianDetector, PaDiM, WEPaDiM, iter_batches
from .smoothing import gaussian_smooth

__all__ = ["GaussianDetector", "GaussianModel", "GaussianStats", "PaDiM", "WEPaDiM", "gaussian_smooth",
           "iter_batches"]
