import numpy as np
import pytest

from fastfreq.apps import eda
from fastfreq.analysis import BAND_NAMES
from fastfreq.data import make_synthetic_hdmap


@pytest.fixture(scope="module")
def hdmap(tmp_path_factory):
    return make_synthetic_hdmap(tmp_path_factory.mktemp("hdmap"), domains=("A", "B"), n_train=24,
                                n_test_good=8, n_test_fault=8, seed=0)


def column(table, name, **where):
    rows = range(len(table[name]))
    return [table[name][i] for i in rows if all(table[k][i] == v for k, v in where.items())]


def test_phase1_tables(hdmap):
    res = eda.phase1(hdmap, domains=("A", "B"))
    t = res.tables["band_energy"]
    for d in ("A", "B"):
        for g in ("normal", "fault"):
            means = column(t, "mean", domain=d, group=g)
            assert len(means) == 5 and sum(means) == pytest.approx(1.0)
        assert column(t, "n_images", domain=d, group="normal")[0] == 32
        diff = column(res.tables["fault_minus_normal"], "difference", domain=d)
        expected = np.subtract(column(t, "mean", domain=d, group="fault"), column(t, "mean", domain=d, group="normal"))
        assert diff == pytest.approx(expected.tolist())
        assert sum(diff) == pytest.approx(0.0, abs=1e-12)
        assert res.arrays[f"{d}/normal_spectrum"].shape == (31, 95)
    # synthetic faults move energy out of the very_low band
    assert column(res.tables["fault_minus_normal"], "difference", domain="A", band="very_low")[0] < 0


def test_cutpaste_phase_difference_is_not_low_pass(hdmap):
    res = eda.phase_cutpaste(hdmap, domains=("A",))
    t = res.tables["band_energy"]
    for image in ("original", "cutpaste", "difference"):
        assert sum(column(t, "mean", image=image)) == pytest.approx(1.0)
    # a pasted 1-2 pixel high strip carries much more high-frequency energy than the image
    assert column(t, "mean", image="difference", band="very_high")[0] > column(t, "mean", image="original", band="very_high")[0]


def test_filters_phase_very_high_grows_with_hpf_cutoff(hdmap):
    res = eda.phase_filters(hdmap, domains=("A",))
    vh = {f: column(res.tables["very_high"], "very_high_mean", filter=f)[0] for f in eda.plan_filters()}
    bhpf = [vh[f"bhpf_c{c}_o2"] for c in (0.1, 0.15, 0.2, 0.25, 0.3)]
    ghpf = [vh[f"ghpf_c{c}"] for c in (0.1, 0.15, 0.2, 0.25, 0.3)]
    assert np.all(np.diff(bhpf) > 0) and np.all(np.diff(ghpf) > 0)
    assert bhpf[0] > vh["none"] > vh["blpf_c0.2_o2"] > vh["blpf_c0.1_o2"]
    assert set(column(res.tables["difference_bands"], "band", filter="none")) == set(BAND_NAMES)
    assert res.arrays["bhpf_c0.2_o2/difference"].shape == (4, 31, 95)


def test_write_csv_round_trip(tmp_path):
    path = eda.write_csv(tmp_path / "t.csv", {"a": [1, 2], "b": ["x", "y"]})
    assert path.read_text().splitlines() == ["a,b", "1,x", "2,y"]


def test_recon_phase_and_cli(hdmap, tmp_path):
    from fastfreq.apps.cli import main
    from fastfreq.models.draem import save_checkpoint
    from fastfreq.models.draem import DRAEM

    ckpt = save_checkpoint(tmp_path / "m.pt", DRAEM(recon_width=4, disc_width=4, depth=2), {"image_filter": None})
    res = eda.phase_recon(hdmap, ckpt, domains=("A",))
    t = res.tables["error_bands"]
    for g in ("normal", "fault"):
        assert sum(column(t, "mean", group=g)) == pytest.approx(1.0)
    h = res.tables["hypothesis"]
    assert h["hypothesis_holds"][0] == (h["normal_high_fraction"][0] > h["fault_high_fraction"][0]
                                        and h["fault_low_mid_fraction"][0] > h["normal_low_mid_fraction"][0])
    assert main(["eda", "recon", "--data", str(hdmap), "--domains", "A", "--out", str(tmp_path / "o"),
                 "--checkpoint", str(ckpt)]) == 0
    assert (tmp_path / "o" / "recon_error_bands.png").stat().st_size > 10_000
    assert (tmp_path / "o" / "recon_hypothesis.csv").read_text().startswith("domain,normal_high_fraction")
    with pytest.raises(SystemExit) as e:
        main(["eda", "recon", "--data", str(hdmap), "--out", str(tmp_path / "o")])
    assert e.value.code == 2
