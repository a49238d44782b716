import numpy as np
import pytest
import torch

from fastfreq import FrequencyFilter

SHAPES = ("ideal", "gaussian", "butterworth")
MODES = ("lowpass", "highpass", "bandpass", "bandstop")


def make_filter(shape, mode, order=2):
    cutoff = (0.12, 0.3) if mode in ("bandpass", "bandstop") else 0.2
    return FrequencyFilter(shape, mode, cutoff, order)


ALL_FILTERS = [make_filter(s, m) for s in SHAPES for m in MODES]


def strategies(filt):
    """The four CutPaste strategies built around one filter (ScaledCutPaste keyword sets)."""
    from fastfreq import RadialWeight

    low = FrequencyFilter(filt.shape, "lowpass", 0.15, filt.order)
    return {
        "s1_patch": dict(patch_filter=filt),
        "s2_image": dict(image_filter=filt),
        "s3_dual": dict(dual_path=(filt, low)),
        "s4_band": dict(patch_filter=filt, band_weight=RadialWeight.mid_band()),
    }


STRATEGY_CASES = [(f, s) for f in ALL_FILTERS for s in strategies(f)]


@pytest.fixture
def images():
    """A batch in [0, 1] (the parity contract's input range)."""
    g = torch.Generator().manual_seed(0)
    return torch.rand(12, 2, 31, 95, generator=g)


def numpy_filter(x, mask):
    return np.real(np.fft.ifft2(np.fft.fft2(x) * mask))


def tiny_backbone(widths=(6, 8, 10)):
    """A seeded 3-conv random backbone tapped after each ReLU (strides 2, 4, 8): fast WE-PaDiM tests."""
    from fastfreq.models.backbones import Backbone

    torch.manual_seed(0)
    layers, cin = [], 3
    for cout in widths:
        layers += [torch.nn.Conv2d(cin, cout, 3, stride=2, padding=1), torch.nn.ReLU()]
        cin = cout
    return Backbone.from_module(torch.nn.Sequential(*layers), ["1", "3", "5"], name="tiny", probe_size=64)


def run_cli(argv, capsys):
    """``fastfreq`` with ``argv`` -> (exit code, stdout, stderr)."""
    from fastfreq.apps.cli import main

    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err
