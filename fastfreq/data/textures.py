"""Synthetic MVTec-AD-style texture images with local defects and pixel masks.

Deterministic: every image draws from ``default_rng([seed, category, folder,
index])`` (its defect from a sub-stream), so counts never change other files.
"""
from __future__ import annotations

import pathlib

import numpy as np

from .._validate import check_choice, check_int

TEXTURE_KINDS = ("fabric", "wood", "carpet", "grid")
DEFECT_KINDS = ("scratch", "stain", "hole", "crack")
DEFECT_STRENGTH = 0.85       # amplitude multiplier: PaDiM image AUROC ~0.65-0.97 at 0.4, ~0.82-1.0 at 0.7, ~0.99-1.0 at 1.0
AREA_RANGE = (0.003, 0.05)   # every defect mask covers this fraction of the image


# ---------------------------------------------------------------- helpers
def _noise(rng, size, sigma):
    """Periodic Gaussian-blurred white noise (blur sigma in px), unit std."""
    fy, fx = np.fft.fftfreq(size)[:, None], np.fft.rfftfreq(size)[None]
    g = np.exp(-2.0 * (np.pi * sigma) ** 2 * (fx ** 2 + fy ** 2))
    out = np.fft.irfft2(np.fft.rfft2(rng.standard_normal((size, size))) * g, s=(size, size))
    return out / (out.std() + 1e-12)


def _grid(size):
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    return yy, xx


def _style(seed, cat, size):
    """Per-(seed, category) look shared by all its images."""
    rng = np.random.default_rng([seed, cat])
    u = size / 224.0
    return dict(u=u, angle=rng.uniform(0, np.pi), base=rng.uniform(0.35, 0.75, 3),
                tint=rng.uniform(0.85, 1.05, 3), period=rng.uniform(8, 10) * max(u, 0.5),
                ring=rng.uniform(16, 26) * max(u, 0.4), sharp=rng.uniform(1.5, 2.5))


# --------------------------------------------------------------- textures
def _fabric(st, X, Y, rng, size):
    a, b = X / st["period"], Y / st["period"]
    fa, fb = a - np.floor(a), b - np.floor(b)
    top = ((np.floor(a) + np.floor(b)) % 2).astype(bool)  # True: weft thread on top
    warp = np.sin(np.pi * fa) ** 0.7 * (0.8 + 0.2 * np.sin(np.pi * fb))
    weft = np.sin(np.pi * fb) ** 0.7 * (0.8 + 0.2 * np.sin(np.pi * fa))
    t = np.where(top, weft, warp) + 0.06 * _noise(rng, size, 0.8 * st["u"])
    col = np.where(top[..., None], st["base"] * st["tint"], st["base"])
    return col * (0.45 + 0.5 * t[..., None])


def _wood(st, X, Y, rng, size):
    u = st["u"]
    Yw = Y + 4.0 * u * _noise(rng, size, 25 * u) + 0.03 * X  # wavy, slowly drifting rings
    rings = (0.5 + 0.5 * np.sin(2 * np.pi * Yw / st["ring"])) ** st["sharp"]
    n = rng.standard_normal(512)
    grain = np.interp(Yw / max(0.8 * u, 0.3), np.arange(512), (n + np.roll(n, 1)) / 1.4, period=512)
    grain *= 0.7 + 0.3 * _noise(rng, size, 12 * u)
    v = np.clip(0.35 + 0.4 * rings + 0.07 * grain, 0, 1)[..., None]
    light = np.array([0.78, 0.58, 0.38]) * st["tint"]
    return light * (0.55 + 0.45 * v)


def _carpet(st, X, Y, rng, size):
    u, p = st["u"], 5.0 * max(st["u"], 0.6)
    tuft = np.cos(2 * np.pi * X / p) * np.cos(2 * np.pi * Y / p)
    v = 0.5 + 0.13 * _noise(rng, size, 0.9 * u) + 0.1 * _noise(rng, size, 3 * u) + 0.09 * tuft
    return st["base"] * (0.45 + 0.8 * v[..., None])


def _wire_grid(st, X, Y, rng, size):
    u, p = st["u"], 1.5 * st["period"]
    w = max(1.5 * u, 0.8)
    dx = p * np.abs((X / p + 0.5) % 1 - 0.5)
    dy = p * np.abs((Y / p + 0.5) % 1 - 0.5)
    wx, wy = np.exp(-(dx / w) ** 2), np.exp(-(dy / w) ** 2)
    over = np.cos(np.pi * X / p) * np.cos(np.pi * Y / p) > 0  # which wire is on top
    wire = np.where(over, np.maximum(wx, 0.8 * wy), np.maximum(0.8 * wx, wy))
    bg = 0.7 + 0.04 * _noise(rng, size, 6 * u)
    v = bg * (1 - 0.65 * wire) + 0.12 * wire * (0.5 + 0.5 * np.cos(2 * np.pi * (X + Y) / p))
    return (0.9 + 0.1 * st["tint"]) * v[..., None]


_RENDER = dict(fabric=_fabric, wood=_wood, carpet=_carpet, grid=_wire_grid)


def _base_image(cat, st, rng, size):
    """One normal image, float (H, W, 3) in [0, 1]: jittered pose, colour, light, noise."""
    yy, xx = _grid(size)
    c = (size - 1) / 2
    th = st["angle"] * (cat == "wood") + np.deg2rad(rng.uniform(-4, 4))
    s = rng.uniform(0.94, 1.06)
    ox, oy = rng.uniform(0, 1000, 2)
    X = (np.cos(th) * (xx - c) + np.sin(th) * (yy - c)) / s + ox
    Y = (-np.sin(th) * (xx - c) + np.cos(th) * (yy - c)) / s + oy
    img = _RENDER[cat](st, X, Y, rng, size)
    phi, g = rng.uniform(0, 2 * np.pi), rng.uniform(0, 0.15)
    light = 1 + g * (np.cos(phi) * (xx - c) + np.sin(phi) * (yy - c)) / size
    img = img * light[..., None] * rng.normal(1, 0.015, 3) * rng.normal(1, 0.04)
    img = img + rng.normal(0, 0.012, img.shape)
    return np.clip(img, 0, 1)


# ---------------------------------------------------------------- defects
def _ramp(d):
    """Antialiased coverage of a shape from signed distance ``d`` (px, >0 inside)."""
    return np.clip(d + 0.5, 0, 1)


def _polyline_dist(size, pts, pad):
    """Distance (px) to a polyline ``pts`` (K, 2) as (y, x); inf beyond ``pad`` of its box."""
    out = np.full((size, size), np.inf)
    lo = np.clip(np.floor(pts.min(0) - pad), 0, size).astype(int)
    hi = np.clip(np.ceil(pts.max(0) + pad) + 1, 0, size).astype(int)
    if (hi <= lo).any():
        return out
    yy, xx = np.mgrid[lo[0]:hi[0], lo[1]:hi[1]].astype(np.float64)
    p, q = pts[:-1, :, None, None], pts[1:, :, None, None]
    d = q - p
    t = ((yy - p[:, 0]) * d[:, 0] + (xx - p[:, 1]) * d[:, 1]) / np.maximum((d ** 2).sum(1), 1e-9)
    t = np.clip(t, 0, 1)
    out[lo[0]:hi[0], lo[1]:hi[1]] = np.sqrt((yy - p[:, 0] - t * d[:, 0]) ** 2
                                            + (xx - p[:, 1] - t * d[:, 1]) ** 2).min(0)
    return out


def _one_defect(img, kind, rng, strength, u):
    size = img.shape[0]
    amp = strength * np.exp(rng.uniform(np.log(0.5), np.log(1.5)))
    cy, cx = rng.uniform(0.12, 0.88, 2) * size
    if kind in ("scratch", "crack"):
        if kind == "scratch":  # smooth quadratic Bezier, bright or dark
            L, phi = rng.uniform(0.25, 0.45) * size, rng.uniform(0, np.pi)
            e = 0.5 * L * np.array([np.sin(phi), np.cos(phi)])
            mid = np.array([cy, cx]) + rng.uniform(-0.25, 0.25) * L * np.array([np.cos(phi), -np.sin(phi)])
            t = np.linspace(0, 1, 25)[:, None]
            pts = (1 - t) ** 2 * (np.array([cy, cx]) - e) + 2 * t * (1 - t) * mid + t ** 2 * (np.array([cy, cx]) + e)
            hw = max(1.0, rng.uniform(1.0, 2.0) * u)
        else:  # jagged random walk
            n = rng.integers(8, 13)
            ang = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.normal(0, 0.5, n))
            step = rng.uniform(0.03, 0.055, n)[:, None] * size
            pts = np.array([cy, cx]) + np.vstack([[0, 0], np.cumsum(step * np.c_[np.sin(ang), np.cos(ang)], 0)])
            hw = max(1.0, rng.uniform(1.0, 1.6) * u)
        alpha = _ramp(hw - _polyline_dist(size, pts, hw + 2))[..., None]
        if kind == "scratch":
            out = img + alpha * rng.choice([-1.0, 1.0]) * 0.25 * amp
        else:
            out = img * (1 - alpha * min(0.9, 0.5 * amp))
        return out, alpha[..., 0]
    yy, xx = _grid(size)
    r, th = np.hypot(yy - cy, xx - cx), np.arctan2(yy - cy, xx - cx)
    if kind == "stain":  # irregular blob with a colour shift
        R = max(3.0, rng.uniform(0.045, 0.08) * size)
        a, ph = rng.uniform(0, 0.12, (3, 1, 1)), rng.uniform(0, 6.3, (3, 1, 1))
        R = R * (1 + (a * np.cos(np.arange(2, 5)[:, None, None] * th + ph)).sum(0))
        alpha = _ramp(R - r)[..., None]
        return img + alpha * (rng.uniform(-0.9, 0.1, 3) * 0.22 * amp), alpha[..., 0]
    # hole: dark elliptic blob inside a shadowed rim (both darken: no cancelling at the seam)
    R = max(2.5, rng.uniform(0.025, 0.045) * size) * (1 + 0.15 * np.cos(2 * th + rng.uniform(0, 6.3)))
    inner = _ramp(R - r)[..., None]
    outer = _ramp(R + max(1.5, 2 * u) - r)[..., None]
    dark = min(0.92, 0.6 * amp)
    out = img * (1 - inner * dark - (outer - inner) * 0.4 * dark)
    return out, outer[..., 0]


def add_defect(img, kind, rng, strength=DEFECT_STRENGTH, tries=30):
    """Add one ``kind`` defect to float image ``img`` (H, W, 3) in [0, 1].

    Returns ``(image, mask)``; ``mask`` (bool) is where the defect's coverage is
    >= 0.5, so pixels outside it change by less than half the defect amplitude
    (only on the 1-px antialiased border). Shapes are redrawn until the mask
    area fraction lies in ``AREA_RANGE``.
    """
    check_choice("kind", kind, DEFECT_KINDS)
    best = None
    for _ in range(tries):
        out, alpha = _one_defect(img, kind, rng, strength, img.shape[0] / 224.0)
        mask = alpha >= 0.5
        f = mask.mean()
        miss = max(AREA_RANGE[0] - f, f - AREA_RANGE[1], 0.0)
        if best is None or miss < best[0]:
            best = (miss, np.clip(out, 0, 1), mask)
        if miss == 0:
            break
    return best[1], best[2]


def render_sample(category, folder, index, size=224, seed=0, strength=DEFECT_STRENGTH, clean=False):
    """Image ``index`` of ``folder`` ("train", "good" or a defect kind) as
    ``(uint8 (H, W, 3), uint8 mask (H, W) 0/255)``. ``clean=True`` returns the
    defect-free base of a defect image (mask all zero)."""
    check_choice("category", category, TEXTURE_KINDS)
    check_choice("folder", folder, ("train", "good") + DEFECT_KINDS)
    size, index, seed = check_int("size", size, 32, 4096), check_int("index", index, 0), check_int("seed", seed, 0)
    cat = TEXTURE_KINDS.index(category)
    code = ("train", "good").index(folder) if folder in ("train", "good") else 2 + DEFECT_KINDS.index(folder)
    img = _base_image(category, _style(seed, cat, size), np.random.default_rng([seed, cat, code, index]), size)
    mask = np.zeros((size, size), bool)
    if folder in DEFECT_KINDS and not clean:
        img, mask = add_defect(img, folder, np.random.default_rng([seed, cat, code, index, 1]), strength)
    return np.round(img * 255).astype(np.uint8), mask.astype(np.uint8) * 255


# ------------------------------------------------------------------ writer
def _as_tuple(name, value, allowed):
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, (tuple, list)):
        raise TypeError(f"{name} must be a string or a list/tuple of strings from {allowed}, got {value!r}")
    for v in items:
        check_choice(name, v, allowed)
    if len(set(items)) != len(items):
        raise ValueError(f"{name} must not contain duplicates, got {value!r}")
    return tuple(items)


def make_synthetic_textures(root, categories=TEXTURE_KINDS[:1], n_train=80, n_test_good=50, n_test_defect=50,
                            size=224, defects=None, seed=0, strength=DEFECT_STRENGTH) -> dict:
    """Write 8-bit RGB PNGs in the MVTec AD layout read by ``FolderDataset``:
    ``<root>/<cat>/{train/good, test/good, test/<defect>}/NNN.png`` and masks
    ``<root>/<cat>/ground_truth/<defect>/NNN_mask.png`` (L, 0/255).

    ``n_test_defect`` is split evenly over ``defects`` (default all of
    DEFECT_KINDS; remainder to the first; kinds with 0 images get no folder).
    Stale numbered PNGs in written folders are removed. Returns a summary dict.
    """
    from PIL import Image
    categories = _as_tuple("categories", categories, TEXTURE_KINDS)
    if not categories:
        raise ValueError("categories must name at least one of " f"{TEXTURE_KINDS}")
    defects = DEFECT_KINDS if defects is None else _as_tuple("defects", defects, DEFECT_KINDS)
    n_train = check_int("n_train", n_train, 1)
    n_test_good = check_int("n_test_good", n_test_good, 0)
    n_test_defect = check_int("n_test_defect", n_test_defect, 0)
    size = check_int("size", size, 32, 4096)
    seed = check_int("seed", seed, 0)
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 < strength <= 5:
        raise ValueError(f"strength must be a number in (0, 5], got {strength!r}")
    if n_test_defect > 0 and not defects:
        raise ValueError(f"defects must name at least one of {DEFECT_KINDS} when n_test_defect > 0")
    per = [n_test_defect // len(defects) + (i < n_test_defect % len(defects)) for i in range(len(defects))] \
        if defects else []
    counts = {"train/good": n_train, "test/good": n_test_good}
    counts.update({f"test/{d}": n for d, n in zip(defects, per) if n > 0})
    root = pathlib.Path(root)
    width = max(3, len(str(max(counts.values()) - 1)))
    for cat in categories:
        for key, n in counts.items():
            if n == 0:
                continue
            split, folder = key.split("/")
            out = root / cat / key
            gt = root / cat / "ground_truth" / folder if folder in DEFECT_KINDS else None
            for d in (out, gt) if gt else (out,):
                d.mkdir(parents=True, exist_ok=True)
                for old in d.glob("*.png"):
                    if old.stem.removesuffix("_mask").isdigit():
                        old.unlink()
            for i in range(n):
                img, mask = render_sample(cat, "train" if split == "train" else folder, i, size, seed, strength)
                Image.fromarray(img, "RGB").save(out / f"{i:0{width}d}.png", compress_level=1)
                if gt is not None:
                    Image.fromarray(mask, "L").save(gt / f"{i:0{width}d}_mask.png", compress_level=1)
    return {"root": str(root), "categories": list(categories), "size": size, "seed": seed,
            "strength": float(strength), "counts": {k: v for k, v in counts.items() if v > 0}}
