"""Defaults of the DRAEM runs and the WE-PaDiM grid, shared by the CLI, the demo and the runners.

Plain data only: the CLI reads its option defaults here, so ``fastfreq --help``
loads no training or demo code.
"""
from ..augment.presets import HDMAP_TRAIN, RGB_TRAIN

DEFAULT_OUT = "fastfreq_out/demo"
CUTPASTE = HDMAP_TRAIN  # strips on 31 x 95 HDMAP maps, amplitude 0.5..2 (see fastfreq.augment.presets)
# Thin DRAEM for 31x95 on a 2-core CPU: ~0.2 s a step, about a minute per variant.
TRAIN = dict(steps=300, batch_size=16, lr=4e-3, weight_decay=1e-4,
             model_kwargs=dict(recon_width=16, disc_width=8, depth=3))
MEAN_FILTER = 3  # box of the image score; DRAEM's 21 would average 1-2-row faults away on 31 rows
# DRAEM on an MVTec-style category (RGB in [0, 1]): area-ratio patches, amplitude 0.2..1 (fastfreq.augment.presets),
# images resized to IMAGE_SIZE, the augmented input clipped to CLIP, DRAEM's box of 21 at 256 px scaled to the size.
CUTPASTE_RGB = RGB_TRAIN
IMAGE_SIZE = (256, 256)
CLIP = (0.0, 1.0)
MEAN_FILTER_RGB = 21  # at 256 px

# The WE-PaDiM paper's grid: 3 wavelets x 2 levels x 3 sigmas x 3 eps.
GRID = dict(wavelet=("haar", "db4", "sym4"), level=(1, 2), sigma=(2.0, 4.0, 6.0), cov_reg=(0.1, 0.01, 0.001))
DEFAULT_SUBBANDS = ("LL", "LH", "HL")
