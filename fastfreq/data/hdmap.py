"""A synthetic HDMAP generator: the real gearbox vibration maps are not public.

Writes ``<root>/domain_X/{train/good, test/good, test/fault}/NNNNNN.tiff``
(float32, 31 x 95 by default), the layout ``HDMAPDataset`` reads. Each domain
has its own spectral style; fault maps carry one localized fault of a kind
from ``FAULT_KINDS``.
"""
from __future__ import annotations

import pathlib

import numpy as np
import tifffile

from .datasets import check_image_size, domain_folder

# Per-domain style: row bands (centre as a fraction of the height, amplitude,
# width in px; negative = dark band), harmonic series along the 95-wide axis
# (fundamental f0 cycles/px, count, decay, amplitude), a high-frequency mesh
# line (amplitude, frequency), white noise, smooth per-image field and gain
# jitter. Tuned so normals hold ~92-96 % of their FFT energy below D = 0.1.
_DOMAIN_STYLE = [
    dict(bands=[(0.2, -0.6, 2.0), (0.5, 0.8, 2.5), (0.8, 0.5, 1.5)],
         f0=0.055, n_harm=7, decay=0.97, harm=0.12, hf=0.28, hf_f=0.44, noise=0.12, smooth=0.04, jitter=0.03),
    dict(bands=[(0.1, -0.4, 1.5), (0.35, 0.7, 2.0), (0.6, 0.6, 2.0), (0.85, 0.9, 1.5)],
         f0=0.070, n_harm=5, decay=1.00, harm=0.13, hf=0.26, hf_f=0.47, noise=0.13, smooth=0.05, jitter=0.04),
    dict(bands=[(0.5, -0.9, 3.0), (0.2, 0.5, 3.5)],
         f0=0.040, n_harm=9, decay=0.97, harm=0.12, hf=0.25, hf_f=0.42, noise=0.09, smooth=0.03, jitter=0.02),
    dict(bands=[(0.5, -0.5, 1.5), (0.1, 0.5, 1.2), (0.3, 0.4, 1.6), (0.7, 0.6, 1.6), (0.9, 0.35, 1.2)],
         f0=0.090, n_harm=4, decay=1.00, harm=0.16, hf=0.36, hf_f=0.45, noise=0.13, smooth=0.05, jitter=0.04),
]
FAULT_KINDS = ("burst", "impulse", "streak", "checker")


def _interp_matrix(n_out, n_in):
    """(n_out, n_in) linear interpolation from n_in evenly spread knots."""
    pos = np.linspace(0, n_in - 1, n_out)
    lo = np.minimum(pos.astype(int), n_in - 2)
    frac = pos - lo
    m = np.zeros((n_out, n_in))
    m[np.arange(n_out), lo] = 1 - frac
    m[np.arange(n_out), lo + 1] = frac
    return m


def _normal_maps(rng, n, h, w, p):
    """n raw normal maps (float64): banded rows x harmonic columns + variation."""
    r, c = np.arange(h), np.arange(w)
    rows = np.ones(h)  # horizontal banding: the domain's bands, slightly jittered
    for pos, amp, width in p["bands"]:
        centre = pos * (h - 1) + rng.uniform(-1, 1)
        rows += amp * rng.uniform(0.9, 1.1) * np.exp(-(r - centre) ** 2 / (2 * (width * h / 31) ** 2))
    k = np.arange(1, p["n_harm"] + 1)
    amp = p["harm"] * p["decay"] ** (k - 1)
    phi = rng.uniform(0, 2 * np.pi, len(k))
    # per image: gain, shift of the harmonic series, phase of the mesh line
    gain = 1 + p["jitter"] * rng.standard_normal(n)
    shift = rng.uniform(0, 1 / p["f0"], n)
    arg = 2 * np.pi * k[None, :, None] * p["f0"] * (c - shift[:, None, None]) + phi[None, :, None]
    harm = (amp[None, :, None] * np.cos(arg)).sum(1)  # (n, w)
    hf = p["hf"] * np.cos(2 * np.pi * p["hf_f"] * c + rng.uniform(0, 2 * np.pi, (n, 1)))
    x = rows[None, :, None] * (gain[:, None, None] * (1 + harm[:, None, :]) + hf[:, None, :])
    x += p["smooth"] * _interp_matrix(h, 4) @ rng.standard_normal((n, 4, 7)) @ _interp_matrix(w, 7).T
    x += p["noise"] * rng.standard_normal((n, h, w))
    return x


def _add_fault(rng, img, kind, sigma):
    """Add one localized fault in place; amplitude log-uniform in 0.5..3 sigma."""
    h_img, w_img = img.shape
    a = sigma * np.exp(rng.uniform(np.log(0.5), np.log(3.0)))
    if kind == "burst":  # high-frequency burst: differenced noise, tapered box
        h, w = rng.integers(4, 13), rng.integers(15, 46)
        n = rng.standard_normal((h, w + 1))
        patch = (n[:, 1:] - n[:, :-1]) / np.sqrt(2)
        patch *= np.outer(np.hanning(h + 2)[1:-1], np.hanning(w + 2)[1:-1])
    elif kind == "impulse":  # a few 1-px vertical impulse lines
        h, w = rng.integers(6, 21), rng.integers(10, 31)
        patch = np.zeros((h, w))
        cols = rng.choice(w, rng.integers(2, 7), replace=False)
        patch[:, cols] = rng.uniform(1.5, 3.0, len(cols))
    elif kind == "streak":  # short horizontal streak of higher amplitude, rippled
        h, w = rng.integers(1, 4), rng.integers(20, 61)
        ripple = 0.6 + 0.4 * np.cos(2 * np.pi * rng.uniform(0.2, 0.45) * np.arange(w))
        patch = np.repeat(1.5 * ripple[None], h, axis=0)
    else:  # checker: local checkerboard texture
        h, w = rng.integers(3, 9), rng.integers(8, 25)
        patch = rng.uniform(1.0, 2.0) * (-1.0) ** np.add.outer(np.arange(h), np.arange(w))
    patch = patch[:h_img, :w_img]
    h, w = patch.shape
    r0, c0 = rng.integers(0, h_img - h + 1), rng.integers(0, w_img - w + 1)
    img[r0:r0 + h, c0:c0 + w] += a * patch


def make_synthetic_hdmap(root, domains=("A", "B", "C", "D"), n_train=200, n_test_good=50,
                         n_test_fault=50, size=(31, 95), seed=0) -> pathlib.Path:
    """Write an HDMAP-like dataset of float32 TIFFs under ``root`` and return it.

    Per domain (rng = ``default_rng([seed, domain_index])``): normal maps with a
    domain-specific banded/harmonic pattern, min-max scaled with the min and
    max of the *train* normals (so test maps, faults above all, may leave
    [0, 1]); fault maps get one localized fault cycling through FAULT_KINDS.
    Files are ``NNNNNN.tiff``; stale generated files of that name pattern in
    the target folders are removed. Same arguments -> identical bytes.
    """
    h, w = check_image_size(size)
    if h < 8 or w < 8:
        raise ValueError(f"size={size!r} must be at least (8, 8)")
    for name, v in (("n_train", n_train), ("n_test_good", n_test_good), ("n_test_fault", n_test_fault)):
        if int(v) < 1:
            raise ValueError(f"{name}={v!r} must be >= 1")
    letters = [domain_folder(d)[len("domain_"):] for d in domains]
    for dom, letter in zip(domains, letters):
        if len(letter) != 1 or not "A" <= letter <= "Z":
            raise ValueError(f"domains entry {dom!r}: expected a letter 'A'..'Z' or 'domain_<letter>'")
    root = pathlib.Path(root)
    for letter in letters:
        name, idx = f"domain_{letter}", ord(letter) - ord("A")
        rng = np.random.default_rng([seed, idx])
        x = _normal_maps(rng, n_train + n_test_good + n_test_fault, h, w, _DOMAIN_STYLE[idx % 4])
        lo, hi = x[:n_train].min(), x[:n_train].max()  # fixed per-domain scaling
        x = (x - lo) / (hi - lo)
        sigma = x[:n_train].std(0).mean()  # typical per-pixel normal variation
        n_good = n_train + n_test_good
        for i in range(n_test_fault):
            _add_fault(rng, x[n_good + i], FAULT_KINDS[i % len(FAULT_KINDS)], sigma)
        x = x.astype(np.float32)
        parts = (("train/good", x[:n_train]), ("test/good", x[n_train:n_good]), ("test/fault", x[n_good:]))
        for sub, maps in parts:
            folder = root / name / sub
            folder.mkdir(parents=True, exist_ok=True)
            for old in folder.glob("[0-9][0-9][0-9][0-9][0-9][0-9].tiff"):
                old.unlink()
            for i, m in enumerate(maps):
                tifffile.imwrite(folder / f"{i:06d}.tiff", m, photometric="minisblack", metadata=None)
    return root
