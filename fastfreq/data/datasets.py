"""Datasets for HDMAP (float TIFF vibration maps) and MVTec-AD style folders.

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


def check_image_size(size):
    if size is None:
        return None
    try:
        h, w = (int(s) for s in size)
    except (TypeError, ValueError):
        raise ValueError(f"size={size!r} must be None or a pair (h, w) of positive ints") from None
    if h <= 0 or w <= 0:
        raise ValueError(f"size={size!r} must be None or a pair (h, w) of positive ints")
    return (h, w)


def domain_folder(domain) -> str:
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


def _resize(arr: np.ndarray, size, mode: str, antialias: bool = False) -> np.ndarray:
    """(C, H, W) float32 -> (C, h, w) with torch interpolate (``antialias``: bilinear only, for downscaling)."""
    if size is None or tuple(arr.shape[-2:]) == size:
        return arr
    t = torch.from_numpy(np.ascontiguousarray(arr))[None]
    kw = {"align_corners": False, "antialias": antialias} if mode == "bilinear" else {}
    return F.interpolate(t, size=size, mode=mode, **kw)[0].numpy()


# ------------------------------------------------------------ base dataset
class _CachedDataset(Dataset):
    """Lazy decode + optional in-memory cache + resize + channel handling.

    Subclasses set ``paths``/``labels`` and implement ``_decode(i)`` returning
    ``(image (C,H,W) float32, mask (1,H,W) float32 or None)`` at stored size.
    """

    _antialias = False  # bilinear resize without antialiasing (HDMAP maps as before)

    def __init__(self, size, channels, cache, transform):
        self.size = check_image_size(size)
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
            img = _resize(img.astype(np.float32, copy=False), self.size, "bilinear", self._antialias)
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
        self.domain = domain_folder(domain)
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


MISSING_MASKS = ("error", "zeros")
MASK_EXTS = (".png", ".bmp", ".tif", ".tiff", ".jpg", ".jpeg")  # searched in this order


def _mask_index(folder: pathlib.Path) -> dict:
    """lower-case file name -> path of the files in a ground-truth folder (empty if it does not exist)."""
    if not folder.is_dir():
        return {}
    return {p.name.lower(): p for p in folder.iterdir() if p.is_file()}


def find_mask(index: dict, stem: str):
    """The mask of image ``stem`` among ``index`` (see ``_mask_index``): ``<stem>_mask.<ext>`` (MVTec AD)
    first, then ``<stem>.<ext>`` (VisA, anomalib's Folder), extensions in ``MASK_EXTS`` order; or None."""
    for suffix in ("_mask", ""):
        for ext in MASK_EXTS:
            path = index.get(f"{stem}{suffix}{ext}".lower())
            if path is not None:
                return path
    return None


class FolderDataset(_CachedDataset):
    """MVTec AD layout: ``<root>/<category>/{train/good, test/<defect>}/*`` with
    masks under ``<root>/<category>/ground_truth/<defect>/``.

    A defect image ``<stem>.<ext>`` takes the mask ``<stem>_mask.png`` (MVTec
    AD) or ``<stem>.png`` (VisA, anomalib's Folder layout); other mask
    extensions (.bmp, .tif, .jpg, ...) are found too, ``_mask`` names first.
    A defect image without a mask is an error naming the file, unless
    ``missing_masks="zeros"``: then its mask is all zeros (pixel metrics count
    its pixels as normal). Good images always have all-zero masks. Masks are
    binarised (> 0) and resized with nearest.

    Items: ``{"image": (C,H,W) float32, "label": int, "mask": (1,H,W) 0/1,
    "path": str}``. ``channels=None`` keeps what is stored (gray -> 1, colour
    -> 3); 1 or 3 converts. ``size=(h, w)`` resizes images bilinearly with
    antialiasing (a 1024 px MVTec image at 256 px keeps its fine texture
    instead of aliasing it), before the cache: the cache holds images at
    ``size``.
    """

    _antialias = True

    def __init__(self, root, category, split, size=None, channels=None, cache=True,
                 transform=None, missing_masks="error"):
        _check_choice("split", split, SPLITS)
        _check_choice("channels", channels, (None, 1, 3))
        _check_choice("missing_masks", missing_masks, MISSING_MASKS)
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
        self.missing_masks = missing_masks
        self.paths, self.mask_paths, self.defects, labels = [], [], [], []
        for d in defects:
            index = {} if d == "good" else _mask_index(cdir / "ground_truth" / d)
            for p in _list_images(sdir / d, IMAGE_EXTS):
                m = None if d == "good" else find_mask(index, p.stem)
                if d != "good" and m is None and missing_masks == "error":
                    raise ValueError(
                        f"no mask for defect image {p}: looked for {p.stem}_mask.png or {p.stem}.png (also .bmp, "
                        f".tif, .jpg) in {cdir / 'ground_truth' / d}; pass missing_masks='zeros' to give defect "
                        f"images without a mask an all-zero mask")
                self.paths.append(str(p))
                self.mask_paths.append(None if m is None else str(m))
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
