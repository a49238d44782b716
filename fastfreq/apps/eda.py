"""Frequency EDA of HDMAP data in four phases, batched.

``phase1``: band energy of normal vs fault maps and their mean spectra;
``phase_cutpaste``: what Scaled CutPaste does to the spectrum;
``phase_filters``: the pasted difference under each patch filter, on the same
params; ``phase_recon``: band energy of a DRAEM checkpoint's reconstruction
error (FAIR's frequency bias). Each returns plain tables (dicts of lists,
ready for ``write_csv``) and, where it has them, arrays for figures;
``fastfreq eda`` writes them as CSV and PNG (``eda_plots``). Band energies are
``fastfreq.band_energy`` fractions (5 radial bands of width 0.1 on D).
"""
from __future__ import annotations

import pathlib
from dataclasses import dataclass, field

import numpy as np
import torch

from .. import _files
from ..analysis import BAND_NAMES, band_energy
from ..augment.presets import HDMAP_EDA
from ..filters import FrequencyFilter

DOMAINS = ("A", "B", "C", "D")


@dataclass
class PhaseResult:
    """tables: name -> {column: list}; arrays: name -> ndarray (figures); notes: summary lines."""

    tables: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)


# ------------------------------------------------------------------ loading
def load_images(root, domain, split, category=None) -> np.ndarray:
    """All images of one HDMAP split/category as a float32 (N, H, W) array."""
    from ..data import HDMAPDataset

    ds = HDMAPDataset(root, domain, split, category=category, cache=False)
    return np.stack([ds[i]["image"][0].numpy() for i in range(len(ds))])


def load_groups(root, domain) -> dict:
    """{"normal": train/good + test/good, "fault": test/fault} for one domain."""
    normal = np.concatenate([load_images(root, domain, "train", "good"), load_images(root, domain, "test", "good")])
    return {"normal": normal, "fault": load_images(root, domain, "test", "fault")}


# ------------------------------------------------------------------ helpers
def band_stats(x) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std over images of the 5 band fractions of x (N, H, W)."""
    frac = band_energy(np.asarray(x, dtype=np.float64))
    return frac.mean(0), frac.std(0)


def mean_log_spectrum(x) -> np.ndarray:
    """Mean of log10(1 + |fft2|) over images, fftshift-ed for display (low frequencies centred)."""
    spec = torch.fft.fft2(torch.as_tensor(np.asarray(x), dtype=torch.float64)).abs()
    return torch.fft.fftshift(torch.log10(1 + spec).mean(0)).numpy()


def _rows(table: dict, **row) -> None:
    for k, v in row.items():
        table.setdefault(k, []).append(v)


def _band_rows(table, mean, std, **keys) -> None:
    for b, name in enumerate(BAND_NAMES):
        _rows(table, **keys, band=name, mean=float(mean[b]), std=float(std[b]))


def write_csv(path, table: dict) -> pathlib.Path:
    cols = list(table)
    return pathlib.Path(_files.write_csv(path, cols, zip(*(table[c] for c in cols))))


# ------------------------------------------------------------------ normal vs fault
def phase1(root, domains=DOMAINS) -> PhaseResult:
    """Band energy of normal vs fault images per domain, their difference, and mean spectra."""
    res = PhaseResult(tables={"band_energy": {}, "fault_minus_normal": {}})
    for d in domains:
        groups = load_groups(root, d)
        stats = {g: band_stats(x) for g, x in groups.items()}
        for g, (m, s) in stats.items():
            _band_rows(res.tables["band_energy"], m, s, domain=d, group=g, n_images=len(groups[g]))
        diff = stats["fault"][0] - stats["normal"][0]
        for b, name in enumerate(BAND_NAMES):
            _rows(res.tables["fault_minus_normal"], domain=d, band=name, difference=float(diff[b]))
        for g, x in groups.items():
            res.arrays[f"{d}/{g}_spectrum"] = mean_log_spectrum(x)
        res.notes.append(f"domain {d}: very_low normal {stats['normal'][0][0]:.4f} fault {stats['fault'][0][0]:.4f}; "
                         f"very_high normal {stats['normal'][0][4]:.4f} fault {stats['fault'][0][4]:.4f}")
    return res


# ------------------------------------------------------------------ CutPaste in the spectrum
def _cutpaste(images, seed, **kwargs):
    from ..augment import ScaledCutPaste

    x = torch.from_numpy(images[:, None])
    aug = ScaledCutPaste(probability=1.0, seed=seed, **kwargs)
    return aug, aug(x)


DEFAULT_CUTPASTE = HDMAP_EDA


def phase_cutpaste(root, domains=DOMAINS, cutpaste=None, seed=0, max_images=None) -> PhaseResult:
    """Original vs CutPaste band energy, the change, and the difference image's bands."""
    cutpaste = dict(DEFAULT_CUTPASTE if cutpaste is None else cutpaste)
    res = PhaseResult(tables={"band_energy": {}, "change": {}})
    for d in domains:
        x = load_groups(root, d)["normal"][:max_images]
        _, batch = _cutpaste(x, seed, **cutpaste)
        aug = batch.image[:, 0].numpy()
        parts = {"original": x, "cutpaste": aug, "difference": aug - x}
        stats = {k: band_stats(v) for k, v in parts.items()}
        for k, (m, s) in stats.items():
            _band_rows(res.tables["band_energy"], m, s, domain=d, image=k, n_images=len(x))
        change = stats["cutpaste"][0] - stats["original"][0]
        for b, name in enumerate(BAND_NAMES):
            _rows(res.tables["change"], domain=d, band=name, cutpaste_minus_original=float(change[b]))
    return res


# ------------------------------------------------------------------ patch filters
def plan_filters() -> dict:
    """The patch filters compared: name -> FrequencyFilter (None = unfiltered)."""
    grid = {"none": None}
    for c in (0.1, 0.15, 0.2, 0.25, 0.3):
        grid[f"bhpf_c{c}_o2"] = FrequencyFilter("butterworth", "highpass", c, 2)
    for c in (0.1, 0.15, 0.2, 0.25, 0.3):
        grid[f"ghpf_c{c}"] = FrequencyFilter("gaussian", "highpass", c)
    for c in (0.1, 0.2, 0.3):
        grid[f"ihpf_c{c}"] = FrequencyFilter("ideal", "highpass", c)
    for c in (0.1, 0.2):
        grid[f"blpf_c{c}_o2"] = FrequencyFilter("butterworth", "lowpass", c, 2)
    return grid


def phase_filters(root, domains=DOMAINS, cutpaste=None, seed=0, max_images=None, n_examples=4) -> PhaseResult:
    """For each filter of ``plan_filters``, with the same sampled params: bands of the pasted difference."""
    from ..augment import ScaledCutPaste

    cutpaste = dict(DEFAULT_CUTPASTE if cutpaste is None else cutpaste)
    res = PhaseResult(tables={"difference_bands": {}, "very_high": {}})
    for d in domains:
        x = load_groups(root, d)["normal"][:max_images]
        xt = torch.from_numpy(x[:, None])
        params = ScaledCutPaste(probability=1.0, seed=seed, **cutpaste).sample_params(xt.shape)
        for name, filt in plan_filters().items():
            out = ScaledCutPaste(probability=1.0, patch_filter=filt, **cutpaste).apply(xt, params)
            diff = (out.image - xt)[:, 0].numpy()
            m, s = band_stats(diff)
            _band_rows(res.tables["difference_bands"], m, s, domain=d, filter=name)
            _rows(res.tables["very_high"], domain=d, filter=name, very_high_mean=float(m[4]), very_high_std=float(s[4]))
            if d == domains[0]:
                res.arrays[f"{name}/difference"] = diff[:n_examples]
                res.arrays[f"{name}/augmented"] = out.image[:n_examples, 0].numpy()
                res.arrays[f"{name}/mask"] = out.mask[:n_examples, 0].numpy()
                res.arrays[f"{name}/difference_spectrum"] = mean_log_spectrum(diff)
        res.arrays["original"] = x[:n_examples]
    return res


# ------------------------------------------------------------------ reconstruction error
def phase_recon(root, checkpoint, domains=DOMAINS, batch_size=64) -> PhaseResult:
    """Bands of DRAEM's reconstruction error, normal vs fault test images (FAIR's frequency bias)."""
    from ..augment.config import filter_from_dict
    from ..models.draem import load_checkpoint

    model, config = load_checkpoint(checkpoint)
    image_filter = filter_from_dict(config.get("image_filter"))
    res = PhaseResult(tables={"error_bands": {}, "hypothesis": {}})
    for d in domains:
        stats = {}
        for g, cat in (("normal", "good"), ("fault", "fault")):
            x = torch.from_numpy(load_images(root, d, "test", cat)[:, None])
            errors = []
            with torch.no_grad():
                for i in range(0, len(x), batch_size):
                    xb = x[i:i + batch_size]
                    inp = image_filter(xb) if image_filter is not None else xb
                    recon, _ = model(inp)
                    errors.append((inp - recon)[:, 0])
            stats[g] = band_stats(torch.cat(errors).numpy())
            _band_rows(res.tables["error_bands"], *stats[g], domain=d, group=g, n_images=len(x))
        normal, fault = stats["normal"][0], stats["fault"][0]
        # FAIR: normal errors sit in high frequencies; fault errors spread over all bands
        high_normal, high_fault = normal[3:].sum(), fault[3:].sum()
        holds = bool(high_normal > high_fault and fault[:3].sum() > normal[:3].sum())
        _rows(res.tables["hypothesis"], domain=d, normal_high_fraction=float(high_normal),
              fault_high_fraction=float(high_fault), normal_low_mid_fraction=float(normal[:3].sum()),
              fault_low_mid_fraction=float(fault[:3].sum()), hypothesis_holds=holds)
        res.notes.append(f"domain {d}: error energy in high+very_high bands: normal {high_normal:.3f}, "
                         f"fault {high_fault:.3f} -> FAIR's hypothesis {'holds' if holds else 'does not hold'}")
    return res
