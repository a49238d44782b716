"""The resnet18 / wide_resnet50_2 taps of WE-PaDiM and PaDiM through real torchvision models.

Runs in the ecosystem environment of `.ci/run` (torchvision imports there; the
main CPU-torch environment has no torchvision). Weights are random, saved to a
local file or a fake torch hub cache: nothing is downloaded.
"""
import warnings

import pytest
import torch

tvm = pytest.importorskip("torchvision.models", reason="needs torchvision (the ecosystem env of .ci/run)")

from fastfreq.models.backbones import load_backbone  # noqa: E402
from fastfreq.models.wepadim import PaDiM, WEPaDiM  # noqa: E402

# (channels, strides) of layer1..layer3: torchvision's ResNet definitions
TAPS = {"resnet18": ((64, 128, 256), (4, 8, 16)), "wide_resnet50_2": ((256, 512, 1024), (4, 8, 16))}


def _torchvision_taps(model, x):
    """layer1..layer3 of a torchvision ResNet, computed by hand."""
    y = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    out = []
    for name in ("layer1", "layer2", "layer3"):
        y = getattr(model, name)(y)
        out.append(y)
    return out


@pytest.mark.parametrize("name", list(TAPS))
def test_named_resnet_taps_equal_torchvision(name, tmp_path, monkeypatch):
    torch.manual_seed(0)
    ref = getattr(tvm, name)(weights=None).eval()
    path = tmp_path / f"{name}.pth"
    torch.save(ref.state_dict(), path)
    bb = load_backbone(name, weights=path)                                # a local weights file
    assert bb.layers == ("layer1", "layer2", "layer3")
    assert (bb.channels, bb.strides) == TAPS[name]
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got, want = bb(x), _torchvision_taps(ref, x)
    for g, w in zip(got, want):
        torch.testing.assert_close(g, w, rtol=0, atol=0)
    # weights="default": torchvision's file name in the torch hub cache, never a download
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(FileNotFoundError, match="weights=PATH"):
        load_backbone(name)
    (tmp_path / "checkpoints").mkdir()
    hub_name = {"resnet18": "resnet18-f37072fd.pth", "wide_resnet50_2": "wide_resnet50_2-95faca4d.pth"}[name]
    (tmp_path / "checkpoints" / hub_name).write_bytes(path.read_bytes())
    with torch.no_grad():
        torch.testing.assert_close(load_backbone(name, layers=["layer2"])(x)[0], want[1], rtol=0, atol=0)


def test_wepadim_and_padim_fit_and_score_on_resnet18(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "resnet18.pth"
    torch.save(tvm.resnet18(weights=None).state_dict(), path)
    g = torch.Generator().manual_seed(2)
    train = torch.rand(6, 3, 64, 64, generator=g)
    test = torch.cat([torch.rand(2, 3, 64, 64, generator=g), torch.ones(1, 3, 64, 64)])
    for model in (WEPaDiM("resnet18", weights=str(path), resize=64, crop=64, cov_reg=0.1),
                  PaDiM("resnet18", weights=str(path), resize=64, crop=64, d=50, cov_reg=0.1)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # few training images: the covariance fallback may warn
            model.fit(train)
        scores, maps = model.predict(test)
        assert scores.shape == (3,) and maps.shape == (3, 64, 64)
        assert bool(torch.isfinite(scores).all())
        # a constant white image is far from the random-texture training set
        assert float(scores[2]) > float(scores[:2].max())
