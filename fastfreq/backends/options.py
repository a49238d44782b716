"""What a CutPaste backend needs besides the images and the sampled params."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CutPasteOptions:
    """The deterministic settings of a ``ScaledCutPaste``.

    ``patch_filter`` (strategy 1), ``dual_path`` = (high, low) (strategy 3) and
    ``band_weight`` (strategy 4) shape the patch spectrum; ``image_filter``
    (strategy 2) filters the whole augmented image. Filters are
    ``FrequencyFilter`` / ``RadialWeight`` objects (used through their
    methods: ``spec``, ``response_grid``, ``mask_half``, ``knots``, ``weights``).
    """

    normalize: bool = True
    patch_filter: object = None
    dual_path: tuple | None = None
    band_weight: object = None
    image_filter: object = None

    @property
    def filters_patch(self) -> bool:
        """True when the patch spectrum is weighted at all."""
        return self.patch_filter is not None or self.dual_path is not None or self.band_weight is not None

    def kernel_specs(self) -> tuple:
        """(spec_a, spec_b, knots, weights): the float64 arrays the compiled kernels read.

        spec_a / spec_b encode the patch filter or the dual path's high / low
        filter (``FrequencyFilter.spec``; the identity when absent); knots and
        weights are the band weight's curve (empty when absent).
        """
        from ..kernels.spectral import IDENTITY

        if self.dual_path is not None:
            spec_a, spec_b = self.dual_path[0].spec(), self.dual_path[1].spec()
        else:
            spec_a = self.patch_filter.spec() if self.patch_filter is not None else IDENTITY
            spec_b = IDENTITY
        if self.band_weight is not None:
            knots, weights = self.band_weight.knots, self.band_weight.weights
        else:
            knots = weights = np.zeros(0)
        return spec_a, spec_b, knots, weights
