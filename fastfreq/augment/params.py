"""Host-side sampling of Scaled CutPaste parameters: which images, patch sizes, boxes, amplitudes.

Sampling is separate from the deterministic kernels that apply the parameters,
so the Numba, torch and reference backends can be compared on identical draws,
and a batch can be replayed with ``ScaledCutPaste.apply(images, params)``.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


@dataclass
class CutPasteParams:
    """Per-sample parameters, each an array of length B.

    applied: bool, whether an anomaly is pasted; src_y/src_x and dst_y/dst_x:
    top-left corners of the cut and paste boxes; cut_h/cut_w: patch size in
    pixels; amplitude: the scale ``a`` (0 where not applied); mix: dual-path
    weight of the high-pass path (1.0 when the dual path is unused).
    ``image_size`` is the (H, W) the params were drawn for.
    """

    applied: np.ndarray
    src_y: np.ndarray
    src_x: np.ndarray
    dst_y: np.ndarray
    dst_x: np.ndarray
    cut_h: np.ndarray
    cut_w: np.ndarray
    amplitude: np.ndarray
    mix: np.ndarray
    image_size: tuple

    def __len__(self) -> int:
        return len(self.applied)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def __getitem__(self, index) -> "CutPasteParams":
        """Params of a subset of samples (an index array, slice or boolean mask)."""
        sub = {k: (v if k == "image_size" else np.atleast_1d(v[index])) for k, v in self.to_dict().items()}
        return CutPasteParams(**sub)

    def validate(self, batch: int, height: int, width: int) -> None:
        """Check the params fit a batch of shape (batch, C, height, width)."""
        if len(self) != batch:
            raise ValueError(f"params are for {len(self)} samples but images has batch size {batch}")
        on = self.applied.astype(bool)
        ok = (
            (self.cut_h >= 1) & (self.cut_w >= 1)
            & (self.src_y >= 0) & (self.src_x >= 0) & (self.dst_y >= 0) & (self.dst_x >= 0)
            & (self.src_y + self.cut_h <= height) & (self.dst_y + self.cut_h <= height)
            & (self.src_x + self.cut_w <= width) & (self.dst_x + self.cut_w <= width)
        )
        if not np.all(ok[on]):
            bad = int(np.flatnonzero(on & ~ok)[0])
            raise ValueError(f"params of sample {bad} do not fit an image of size {height} x {width}")
        if not np.all(np.isfinite(self.amplitude)) or not np.all(np.isfinite(self.mix)):
            raise ValueError("params.amplitude and params.mix must be finite")


def _destination(rng: np.random.Generator, src: np.ndarray, cut: np.ndarray, size: int) -> np.ndarray:
    """Step 4 on one axis: a corner whose box does not overlap the source box.

    Candidates are ``[0, src - cut]`` (before) and ``[src + cut, size - cut]``
    (after); a valid one is picked at random. If neither is valid the corner is
    uniform on ``[0, size - cut]`` (overlap allowed).
    """
    before_hi = src - cut
    after_lo, after_hi = src + cut, size - cut
    has_before = before_hi >= 0
    has_after = after_lo <= after_hi
    u_side, u_pos = rng.random(len(src)), rng.random(len(src))
    pick_after = np.where(has_before & has_after, u_side < 0.5, has_after)
    lo = np.where(pick_after, after_lo, 0)
    hi = np.where(pick_after, after_hi, before_hi)
    neither = ~(has_before | has_after)
    lo = np.where(neither, 0, lo)
    hi = np.where(neither, size - cut, hi)
    return lo + np.floor(u_pos * (hi - lo + 1)).astype(np.int64)


def sample_params(rng: np.random.Generator, batch: int, height: int, width: int, *, probability: float,
                  cut_h=None, cut_w=None, area_ratio=None, aspect_ratio=None, amplitude=(0.0, 1.0),
                  mix_weight=None) -> CutPasteParams:
    """Draw CutPasteParams for ``batch`` images of size ``height`` x ``width``.

    Patch size comes from inclusive pixel ranges ``cut_h``/``cut_w`` (seed
    algorithm) or, when those are None, from classic CutPaste sampling: area
    ``U(area_ratio) * H * W`` and aspect ratio log-uniform in ``aspect_ratio``.
    """
    applied = rng.random(batch) < probability
    if cut_h is not None:
        h = rng.integers(cut_h[0], cut_h[1], size=batch, endpoint=True)
        w = rng.integers(cut_w[0], cut_w[1], size=batch, endpoint=True)
    else:
        area = rng.uniform(area_ratio[0], area_ratio[1], size=batch) * height * width
        log_lo, log_hi = np.log(aspect_ratio[0]), np.log(aspect_ratio[1])
        aspect = np.exp(rng.uniform(log_lo, log_hi, size=batch))  # width / height
        h = np.rint(np.sqrt(area / aspect)).astype(np.int64)
        w = np.rint(np.sqrt(area * aspect)).astype(np.int64)
    h = np.clip(h, 1, max(height - 1, 1)).astype(np.int64)
    w = np.clip(w, 1, max(width - 1, 1)).astype(np.int64)
    src_y = np.floor(rng.random(batch) * (height - h + 1)).astype(np.int64)
    src_x = np.floor(rng.random(batch) * (width - w + 1)).astype(np.int64)
    dst_y = _destination(rng, src_y, h, height)
    dst_x = _destination(rng, src_x, w, width)
    amp = rng.uniform(amplitude[0], amplitude[1], size=batch)
    mix = rng.uniform(mix_weight[0], mix_weight[1], size=batch) if mix_weight is not None else np.ones(batch)
    amp = np.where(applied, amp, 0.0)
    return CutPasteParams(applied=applied, src_y=src_y, src_x=src_x, dst_y=dst_y, dst_x=dst_x,
                          cut_h=h, cut_w=w, amplitude=amp, mix=mix, image_size=(height, width))
