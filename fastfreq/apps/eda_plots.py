"""Figures and files of ``fastfreq eda``: CSV tables plus PNGs per phase."""
from __future__ import annotations

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from . import eda  # noqa: E402
from .._files import write_text  # noqa: E402
from ..analysis import BAND_NAMES  # noqa: E402

BAND_LABELS = [f"{n}\n{lo:.1f}-{hi}" for n, lo, hi in zip(BAND_NAMES, np.arange(5) * 0.1, ["0.1", "0.2", "0.3", "0.4", "inf"])]


def _spectrum_axes(ax, img, title, cmap="viridis", center=False, label="mean log10(1 + |F|)"):
    h, w = img.shape
    extent = (-(w // 2) / w, (w - 1 - w // 2) / w, (h - 1 - h // 2) / h, -(h // 2) / h)
    vmax = np.abs(img).max() if center else None
    im = ax.imshow(img, cmap=cmap, extent=extent, aspect="auto", vmin=-vmax if center else None, vmax=vmax)
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("horizontal frequency (cycles/px)", fontsize=8)
    ax.set_ylabel("vertical frequency (cycles/px)", fontsize=8)
    plt.colorbar(im, ax=ax, fraction=0.046).set_label(label, fontsize=8)


def _band_bars(ax, table, groups, key, title, **where):
    width = 0.8 / len(groups)
    for i, g in enumerate(groups):
        means = eda_column(table, "mean", **where, **{key: g})
        stds = eda_column(table, "std", **where, **{key: g})
        ax.bar(np.arange(5) + i * width, np.asarray(means) * 100, width, yerr=np.asarray(stds) * 100, label=g, capsize=2)
    ax.set_yscale("log")
    ax.set_xticks(np.arange(5) + width * (len(groups) - 1) / 2, BAND_LABELS, fontsize=7)
    ax.set_ylabel("share of spectral energy (%, log scale)", fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)


def _save(fig, path: pathlib.Path, dpi: int = 110) -> pathlib.Path:
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def _band_panels(table, groups, key, title, domains, path) -> list:
    """One band-energy bar panel per domain, ``groups`` side by side."""
    fig, axes = plt.subplots(1, len(domains), figsize=(5 * len(domains), 4), squeeze=False)
    for ax, d in zip(axes[0], domains):
        _band_bars(ax, table, groups, key, f"domain {d}: {title}", domain=d)
    return [_save(fig, path)]


def eda_column(table, name, **where):
    return [table[name][i] for i in range(len(table[name])) if all(table[k][i] == v for k, v in where.items())]


def plot_phase1(res, domains, out: pathlib.Path) -> list:
    paths = []
    for d in domains:
        fig, axes = plt.subplots(1, 4, figsize=(20, 4))
        _band_bars(axes[0], res.tables["band_energy"], ["normal", "fault"], "group", f"domain {d}: band energy", domain=d)
        normal, fault = res.arrays[f"{d}/normal_spectrum"], res.arrays[f"{d}/fault_spectrum"]
        _spectrum_axes(axes[1], normal, f"domain {d}: normal, mean log spectrum")
        _spectrum_axes(axes[2], fault, f"domain {d}: fault, mean log spectrum")
        _spectrum_axes(axes[3], fault - normal, "fault - normal", cmap="RdBu_r", center=True,
                       label="difference of mean log10(1 + |F|)")
        paths.append(_save(fig, out / f"phase1_domain_{d}.png"))
    return paths


def plot_cutpaste(res, domains, out: pathlib.Path) -> list:
    return _band_panels(res.tables["band_energy"], ["original", "cutpaste", "difference"], "image",
                        "CutPaste band energy", domains, out / "cutpaste_band_energy.png")


def plot_filters(res, domains, out: pathlib.Path) -> list:
    names = list(eda.plan_filters())
    # very_high share of the pasted difference per filter
    fig, ax = plt.subplots(figsize=(12, 4))
    for d in domains:
        ax.plot(names, np.asarray(eda_column(res.tables["very_high"], "very_high_mean", domain=d)) * 100, "o-", label=f"domain {d}")
    ax.set_ylabel("very_high share of the difference (%)")
    ax.set_title("Pasted difference (CutPaste - original): energy above 0.4 cycles/px, same params for every filter")
    ax.tick_params(axis="x", rotation=45)
    ax.legend()
    paths = [_save(fig, out / "filters_very_high.png")]
    # example grid: augmented image with mask contour, difference, difference spectrum
    shown = ["none", "bhpf_c0.1_o2", "bhpf_c0.2_o2", "bhpf_c0.3_o2", "ghpf_c0.2", "ihpf_c0.2", "blpf_c0.1_o2"]
    fig, axes = plt.subplots(len(shown), 3, figsize=(16, 2.2 * len(shown)))
    for row, name in zip(axes, shown):
        aug, diff, mask = (res.arrays[f"{name}/{k}"][0] for k in ("augmented", "difference", "mask"))
        row[0].imshow(aug, cmap="gray", aspect="auto")
        row[0].contour(mask, levels=[0.5], colors="red", linewidths=0.8)
        row[0].set_title(f"{name}: augmented (red: pasted box)", fontsize=8)
        lim = np.abs(diff).max() or 1.0
        im = row[1].imshow(diff, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
        row[1].set_title(f"{name}: difference (augmented - original)", fontsize=8)
        plt.colorbar(im, ax=row[1], fraction=0.046)
        _spectrum_axes(row[2], res.arrays[f"{name}/difference_spectrum"], f"{name}: mean log spectrum of the difference")
    paths.append(_save(fig, out / "filters_examples.png", dpi=100))
    return paths


def plot_recon(res, domains, out: pathlib.Path) -> list:
    return _band_panels(res.tables["error_bands"], ["normal", "fault"], "group",
                        "reconstruction error bands", domains, out / "recon_error_bands.png")


PHASES = {
    "phase1": (eda.phase1, plot_phase1),
    "cutpaste": (eda.phase_cutpaste, plot_cutpaste),
    "filters": (eda.phase_filters, plot_filters),
    "recon": (eda.phase_recon, plot_recon),
}


def run_phase(phase: str, root, out, domains=eda.DOMAINS, **kwargs) -> tuple:
    """Run one phase, write its CSV tables and PNGs under ``out``; return (result, written paths)."""
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {tuple(PHASES)}, got {phase!r}")
    compute, plot = PHASES[phase]
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    res = compute(root, domains=tuple(domains), **kwargs)
    paths = [eda.write_csv(out / f"{phase}_{name}.csv", table) for name, table in res.tables.items()]
    paths += plot(res, tuple(domains), out)
    if res.notes:
        write_text(out / f"{phase}_summary.txt", "\n".join(res.notes) + "\n")
    return res, paths
