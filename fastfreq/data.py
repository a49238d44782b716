"""Datasets for HDMAP (float TIFF vibration maps) and MVTec-AD style folders,
plus a synthetic HDMAP generator (the real data is not public).

Both datasets decode lazily and keep decoded (and resized) arrays in memory
when ``cache=True``. Each DataLoader worker has its own copy of the cache; call
``.preload()`` before building the DataLoader so forked workers inherit a
filled cache (or use ``persistent_workers=True``).
"""
from __future__ import annotations

import pathlib

import numpy as np
import tifffile
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

TIFF_EXTS = (".tif", ".tiff")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp") + TIFF_EXTS
SPLITS = ("train", "test")


# ----------------------------------------------------------------- helpers
def _check_choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not allowed; choose one of {list(allowed)}")
    return value


def _check_size(size):
    if size is None:
        return None
    try:
        h, w = (int(s) for s in size)
    except (TypeError, ValueError):
        raise ValueError(f"size={size!r} must be None or a pair (h, w) of positive ints") from None
    if h <= 0 or w <= 0:
        raise ValueError(f"size={size!r} must be None or a pair (h, w) of positive ints")
    return (h, w)


def _domain_name(domain) -> str:
    if not isinstance(domain, str) or not domain:
        raise ValueError(f"domain={domain!r} must be a string such as 'A' or 'domain_A'")
    return domain if domain.startswith("domain_") else f"domain_{domain}"


def _subdirs(folder: pathlib.Path) -> list:
    return sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []


def _list_images(folder: pathlib.Path, exts) -> list:
    """Sorted image files of one folder; missing -> FileNotFoundError, empty -> ValueError."""
    if not folder.is_dir():
        raise FileNotFoundError(f"folder not found: {folder}")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in exts)
    if not files:
        raise ValueError(f"no images ({', '.join(exts)}) in folder {folder}")
    return files


def _read_tiff(path) -> np.ndarray:
    try:
        return tifffile.imread(path)
    except Exception as e:  # corrupt / not a TIFF
        raise ValueError(f"cannot read image file {path}: {e}") from e


def _resize(arr: np.ndarray, size, mode: str) -> np.ndarray:
    """(C, H, W) float32 -> (C, h, w) with torch interpolate."""
    if size is None or tuple(arr.shape[-2:]) == size:
        return arr
    t = torch.from_numpy(np.ascontiguousarray(arr))[None]
    kw = {"align_corners": False} if mode == "bilinear" else {}
    return F.interpolate(t, size=size, mode=mode, **kw)[0].numpy()


# ------------------------------------------------------------ base dataset
class _CachedDataset(Dataset):
    """Lazy decode + optional in-memory cache + resize + channel handling.

    Subclasses set ``paths``/``labels`` and implement ``_decode(i)`` returning
    ``(image (C,H,W) float32, mask (1,H,W) float32 or None)`` at stored size.
    """

    def __init__(self, size, channels, cache, transform):
        self.size = _check_size(size)
        self.channels = channels
        self.cache = bool(cache)
        self.transform = transform
        self._cache = {}

    def __len__(self):
        return len(self.paths)

    def _load(self, i):
        item = self._cache.get(i)
        if item is None:
            img, mask = self._decode(i)
            img = _resize(img.astype(np.float32, copy=False), self.size, "bilinear")
            if mask is not None:
                mask = _resize(mask, self.size, "nearest")
            item = (img, mask)
            if self.cache:
                self._cache[i] = item
        return item

    def preload(self):
        """Decode every item now (fills the cache; returns self)."""
        for i in range(len(self)):
            self._load(i)
        return self

    def _image_tensor(self, img):
        t = torch.tensor(img)  # always a copy: callers may not mutate the cache
        if self.channels is not None and t.shape[0] != self.channels:
            if t.shape[0] == 1:
                t = t.repeat(self.channels, 1, 1)
            else:  # RGB -> gray with ITU-R 601 weights (as Pillow's "L")
                w = torch.tensor([0.299, 0.587, 0.114], dtype=t.dtype)
                t = (t[:3] * w[:, None, None]).sum(0, keepdim=True)
        if self.transform is not None:
            t = self.transform(t)
        return t


# ------------------------------------------------------------------ HDMAP
class HDMAPDataset(_CachedDataset):
    """``<root>/domain_X/{train/good, test/good, test/fault}/*.tif[f]``.

    Items: ``{"image": (C,H,W) float32, "label": 0 good / 1 fault, "path": str}``.
    Values are kept as stored (no rescaling). ``size=(h, w)`` resizes
    bilinearly; ``channels`` (1 or 3) repeats the single channel; ``transform``
    is applied to the image tensor.
    """

    def __init__(self, root, domain, split, category=None, size=None, channels=1,
                 cache=True, transform=None):
        _check_choice("split", split, SPLITS)
        allowed = (None, "good") if split == "train" else (None, "good", "fault")
        _check_choice("category", category, allowed)
        _check_choice("channels", channels, (1, 3))
        super().__init__(size, channels, cache, transform)
        root = pathlib.Path(root)
        self.domain = _domain_name(domain)
        ddir = root / self.domain
        if not ddir.is_dir():
            found = [d for d in _subdirs(root) if d.startswith("domain_")]
            missing = f"domain folder {ddir}" if root.is_dir() else f"root {root}"
            raise FileNotFoundError(f"HDMAP {missing} not found; available domains: {found or 'none'}")
        cats = [category] if category else (["good"] if split == "train" else ["good", "fault"])
        self.paths, labels = [], []
        for cat in cats:
            files = _list_images(ddir / split / cat, TIFF_EXTS)
            self.paths += [str(p) for p in files]
            labels += [int(cat == "fault")] * len(files)
        self.labels = np.asarray(labels, dtype=np.int64)
        # all images must share the first one's shape unless we resize
        self._ref_shape = None
        if self.size is None:
            self._ref_shape = self._load(0)[0].shape

    def _decode(self, i):
        path = self.paths[i]
        arr = _read_tiff(path)
        if arr.ndim == 3 and arr.shape[0] == 1:
            arr = arr[0]
        if arr.ndim != 2:
            raise ValueError(f"{path}: expected a 2-D (H, W) or (1, H, W) image, got shape {arr.shape}")
        arr = arr.astype(np.float32)[None]
        if self._ref_shape is not None and arr.shape != self._ref_shape:
            raise ValueError(f"{path}: shape {arr.shape[1:]} differs from {self._ref_shape[1:]} "
                             f"of {self.paths[0]}; pass size=(h, w) to resize")
        return arr, None

    def __getitem__(self, i):
        img, _ = self._load(i)
        return {"image": self._image_tensor(img), "label": int(self.labels[i]), "path": self.paths[i]}


# ------------------------------------------------------------- MVTec AD
def _read_image(path) -> np.ndarray:
    """Any supported image -> (C, H, W) float32; 8/16-bit integers scaled to [0, 1]."""
    path = pathlib.Path(path)
    if path.suffix.lower() in TIFF_EXTS:
        arr = _read_tiff(path)
    else:
        from PIL import Image
        try:
            with Image.open(path) as im:
                if im.mode in ("P", "PA", "LA", "RGBA", "CMYK", "YCbCr"):
                    im = im.convert("RGB")
                arr = np.asarray(im)
        except Exception as e:
            raise ValueError(f"cannot read image file {path}: {e}") from e
    if arr.ndim == 2:
        arr = arr[None]
    elif arr.ndim == 3 and arr.shape[-1] in (3, 4) and arr.shape[0] not in (1, 3):
        arr = np.moveaxis(arr[..., :3], -1, 0)  # HWC -> CHW, alpha dropped
    elif not (arr.ndim == 3 and arr.shape[0] in (1, 3)):
        raise ValueError(f"{path}: unsupported image shape {arr.shape}")
    scale = {1: 255.0, 2: 65535.0}.get(arr.dtype.itemsize, 1.0) if arr.dtype.kind == "u" else 1.0
    return arr.astype(np.float32) / np.float32(scale)


class FolderDataset(_CachedDataset):
    """MVTec AD layout: ``<root>/<category>/{train/good, test/<defect>}/*`` with
    masks at ``<root>/<category>/ground_truth/<defect>/<stem>_mask.png``.

    Items: ``{"image": (C,H,W) float32, "label": int, "mask": (1,H,W) 0/1,
    "path": str}``. ``channels=None`` keeps what is stored (gray -> 1, colour
    -> 3); 1 or 3 converts. Masks are zeros for good images and for defects
    without a mask file; resized with nearest.
    """

    def __init__(self, root, category, split, size=None, channels=None, cache=True,
                 transform=None):
        _check_choice("split", split, SPLITS)
        _check_choice("channels", channels, (None, 1, 3))
        super().__init__(size, channels, cache, transform)
        root = pathlib.Path(root)
        cdir = root / str(category)
        if not cdir.is_dir():
            raise FileNotFoundError(f"category folder not found: {cdir}; "
                                    f"available categories: {_subdirs(root) or 'none'}")
        sdir = cdir / split
        if not sdir.is_dir():
            raise FileNotFoundError(f"split folder not found: {sdir}")
        defects = ["good"] if split == "train" else _subdirs(sdir)
        if split == "test" and not defects:
            raise ValueError(f"no defect folders in {sdir}")
        self.paths, self.mask_paths, self.defects, labels = [], [], [], []
        for d in defects:
            for p in _list_images(sdir / d, IMAGE_EXTS):
                m = cdir / "ground_truth" / d / f"{p.stem}_mask.png"
                self.paths.append(str(p))
                self.mask_paths.append(str(m) if d != "good" and m.is_file() else None)
                self.defects.append(d)
                labels.append(int(d != "good"))
        self.labels = np.asarray(labels, dtype=np.int64)

    def _decode(self, i):
        img = _read_image(self.paths[i])
        mpath = self.mask_paths[i]
        if mpath is None:
            return img, np.zeros((1,) + img.shape[1:], np.float32)
        mask = (_read_image(mpath).max(0, keepdims=True) > 0).astype(np.float32)
        if mask.shape[1:] != img.shape[1:]:
            raise ValueError(f"mask {mpath} has size {mask.shape[1:]} but image "
                             f"{self.paths[i]} has size {img.shape[1:]}")
        return img, mask

    def __getitem__(self, i):
        img, mask = self._load(i)
        return {"image": self._image_tensor(img), "label": int(self.labels[i]),
                "mask": torch.tensor(mask), "path": self.paths[i]}


# ------------------------------------------------------- synthetic HDMAP
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
    h, w = _check_size(size)
    if h < 8 or w < 8:
        raise ValueError(f"size={size!r} must be at least (8, 8)")
    for name, v in (("n_train", n_train), ("n_test_good", n_test_good), ("n_test_fault", n_test_fault)):
        if int(v) < 1:
            raise ValueError(f"{name}={v!r} must be >= 1")
    letters = [_domain_name(d)[len("domain_"):] for d in domains]
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
