"""Several processes: rank-aware draws, DDP DRAEM (weights, checkpoints, resume), the sharded WE-PaDiM fit, the grid.

The in-process tests fake torchrun's environment (RANK / WORLD_SIZE). The
``two_ranks`` fixture starts two real processes once (gloo on the CPU, a file
store, tiny sizes), runs every distributed phase there and saves what each
rank saw; the tests below it compare that with single-process runs. The CLI
tests launch ``python -m torch.distributed.run --standalone --nproc_per_node 2``.
"""
import datetime
import json
import os
import subprocess
import sys
import time
import traceback
import warnings

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from conftest import tiny_backbone
from fastfreq import FreqCutPasteCollate, ScaledCutPaste
from fastfreq.apps import ddp
from fastfreq.apps.cli import main
from fastfreq.apps.draem import evaluate, train_draem
from fastfreq.apps.grid import run_grid
from fastfreq.apps.wepadim import fit_evaluate
from fastfreq.augment.params import sample_params
from fastfreq.data import FolderDataset, HDMAPDataset, make_synthetic_hdmap
from fastfreq.data.textures import make_synthetic_textures
from fastfreq.distributed import device_for_rank, rank_generator, rank_world
from fastfreq.models.draem import load_checkpoint, load_train_state, save_checkpoint
from fastfreq.models.wepadim import GaussianStats, WEPaDiM

TINY = dict(recon_width=4, disc_width=4, depth=2)
CUT = dict(cut_h=(1, 2), cut_w=(10, 80))
SHAPE = (16, 1, 31, 95)
GRID = dict(wavelets=("haar", "db2"), levels=(1,), sigmas=(1.0, 2.0), cov_regs=(0.1,),
            subband_sets=(("LL", "HH"), ("LL",)), resize=None, crop=None, batch_size=3, progress=False)
RECORD_KEYS = ("category", "wavelet", "level", "subbands", "sigma", "cov_reg", "image_auroc", "pixel_auroc", "dim",
               "positions")


def _augment(seed=0):
    return ScaledCutPaste(**CUT, amplitude=(0.2, 2.0), probability=0.5, seed=seed)


def _train(dataset, **kwargs):
    return train_draem(dataset, _augment(), steps=4, batch_size=4, lr=2e-3, seed=0, model_kwargs=TINY,
                       progress=False, **kwargs)


class _Stop(Exception):
    pass


def _stop_after(n):
    def callback(step, model, history):
        if step + 1 == n:
            raise _Stop
    return callback


def _interrupted_then_resumed(dataset, path):
    """Stopped after 2 of 4 steps (a checkpoint every 2), then resumed from that checkpoint."""
    with pytest.raises(_Stop):
        _train(dataset, checkpoint=path, checkpoint_every=2, callback=_stop_after(2))
    ddp.barrier()  # two ranks: rank 0 has written the checkpoint
    return _train(dataset, resume=path)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread here (the two ranks use one each): tiny models run fast on a busy 2-core machine too."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def hdmap(tmp_path_factory):
    return make_synthetic_hdmap(tmp_path_factory.mktemp("hdmap"), domains=("A",), n_train=16, n_test_good=4,
                                n_test_fault=4)


@pytest.fixture(scope="module")
def textures(tmp_path_factory):
    root = tmp_path_factory.mktemp("textures")
    make_synthetic_textures(root, categories=("fabric",), n_train=7, n_test_good=4, n_test_defect=4, size=64, seed=1)
    make_synthetic_textures(root, categories=("wood",), n_train=1, n_test_good=2, n_test_defect=2, size=64, seed=2)
    return root


@pytest.fixture
def world(monkeypatch):
    """Set torchrun's RANK / WORLD_SIZE for this process."""
    def set_world(rank, size):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", str(size))
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    return set_world


# ---------------------------------------------------------------- one process, faked environment
def _draws(seed=7):
    """src_x of ScaledCutPaste's own generator and of a main-process FreqCutPasteCollate, same seed."""
    aug = ScaledCutPaste(**CUT, seed=seed).sample_params(SHAPE).src_x
    collate = FreqCutPasteCollate(**CUT, seed=seed)
    return aug, collate([torch.zeros(SHAPE[1:])] * SHAPE[0]).params.src_x


def test_one_process_draws_exactly_as_before(world):
    expected = sample_params(np.random.default_rng(7), SHAPE[0], *SHAPE[2:], probability=0.5, amplitude=(0.0, 2.0),
                             **CUT).src_x
    aug, collate = _draws()
    assert np.array_equal(aug, expected) and np.array_equal(collate, expected)
    world(0, 1)  # torchrun with one process: the same
    assert all(np.array_equal(a, expected) for a in _draws())
    assert rank_world() == (0, 1)
    # unseeded collate: one draw from torch's generator, as before
    torch.manual_seed(3)
    draw = int(torch.randint(0, 2**62, (1,)).item())
    torch.manual_seed(3)
    unseeded = FreqCutPasteCollate(**CUT)([torch.zeros(SHAPE[1:])] * 4).params.src_x
    assert np.array_equal(unseeded, sample_params(np.random.default_rng(draw), 4, *SHAPE[2:], probability=0.5,
                                                  amplitude=(0.0, 2.0), **CUT).src_x)


def test_rank_and_world_size_change_the_draws_reproducibly(world):
    single = _draws()
    seen = {}
    for rank, size in ((0, 2), (1, 2), (1, 3)):
        world(rank, size)
        seen[rank, size] = _draws()
        assert all(np.array_equal(a, b) for a, b in zip(seen[rank, size], _draws()))  # same (seed, rank, world)
        expected = sample_params(np.random.default_rng([7, rank, size]), SHAPE[0], *SHAPE[2:], probability=0.5,
                                 amplitude=(0.0, 2.0), **CUT).src_x
        assert np.array_equal(seen[rank, size][0], expected)
    keys = [None] + list(seen)
    values = [single] + list(seen.values())
    for i in range(len(keys)):
        for j in range(i + 1, len(keys)):
            assert not np.array_equal(values[i][0], values[j][0]), (keys[i], keys[j])


def test_rank_generator_seed_kinds_and_bad_environment(world):
    gen = np.random.default_rng(1)
    world(1, 2)
    assert rank_generator(gen) is gen
    assert rank_generator([3, 4]).random() == np.random.default_rng([3, 4, 1, 2]).random()
    seq = np.random.SeedSequence(5)
    assert rank_generator(seq).random() != np.random.default_rng(seq).random()
    assert rank_generator(None).random() != rank_generator(None).random()  # fresh entropy, as without ranks
    world(2, 2)
    with pytest.raises(ValueError, match="inconsistent"):
        rank_world()
    world("x", 2)
    with pytest.raises(ValueError, match="RANK must be an integer"):
        rank_world()


def test_a_spawned_worker_gets_the_rank_of_the_process_that_pickled_it(world, monkeypatch):
    import pickle
    from types import SimpleNamespace

    import fastfreq.augment.collate as collate_module

    def worker_draw(collate):  # as in a DataLoader worker whose seed is 11
        with monkeypatch.context() as m:
            m.setattr(collate_module, "get_worker_info", lambda: SimpleNamespace(seed=11))
            m.setattr(collate_module, "limit_threads", lambda n: None)
            return collate([torch.zeros(SHAPE[1:])] * 4).params.src_x

    world(1, 2)
    expected = sample_params(np.random.default_rng([7, 11, 1, 2]), 4, *SHAPE[2:], probability=0.5,
                             amplitude=(0.0, 2.0), **CUT).src_x
    pickled = pickle.dumps(FreqCutPasteCollate(**CUT, seed=7))  # in the main process of rank 1 of 2
    aug = pickle.dumps(ScaledCutPaste(**CUT, seed=7))
    world(0, 1)  # the spawned worker: no process group, no RANK / WORLD_SIZE
    assert np.array_equal(worker_draw(pickle.loads(pickled)), expected)
    unpickled_aug = pickle.loads(aug).sample_params(SHAPE).src_x
    world(1, 2)
    fresh = ScaledCutPaste(**CUT, seed=7).sample_params(SHAPE).src_x
    assert np.array_equal(unpickled_aug, fresh)
    assert not np.array_equal(worker_draw(FreqCutPasteCollate(**CUT, seed=7)), sample_params(
        np.random.default_rng([7, 11]), 4, *SHAPE[2:], probability=0.5, amplitude=(0.0, 2.0), **CUT).src_x)


def test_device_for_rank(monkeypatch):
    assert device_for_rank("cpu") == "cpu"
    assert device_for_rank(None) == device_for_rank("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="device must be"):
        device_for_rank("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            device_for_rank("cuda")


@pytest.mark.parametrize("kind", ["tensor", "tuple", "dict"])
def test_collating_different_shapes_raises_value_error(kind):
    images = [torch.rand(1, 31, 95), torch.rand(1, 31, 95), torch.rand(1, 30, 95)]
    samples = {"tensor": images, "tuple": [(x, 0) for x in images], "dict": [{"image": x} for x in images]}[kind]
    with pytest.raises(ValueError, match=r"sample 0 has \(1, 31, 95\), sample 2 has \(1, 30, 95\)"):
        FreqCutPasteCollate(**CUT, seed=0)(samples)


def test_gaussian_stats_sum_empty_and_all_reduce_without_a_group():
    x = torch.rand(9, 5, 2, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    parts = [GaussianStats.from_embeddings(x[i:i + 3]) for i in range(0, 9, 3)]
    whole = GaussianStats.from_embeddings(x)
    total = sum(parts)
    assert total.count == 9 and total is not parts[0] and parts[0].count == 3
    torch.testing.assert_close(total.outer, whole.outer, rtol=1e-12, atol=0)
    empty = GaussianStats.empty()
    assert empty.is_empty and (empty + parts[0]).count == 3 and (parts[0] + empty).positions == 6
    assert sum([empty, parts[1], empty]).dim == 5
    assert empty.merge(parts[2]).count == 3 and empty.positions == 6 and not empty.is_empty
    assert whole.all_reduce() is whole and whole.count == 9  # no process group: nothing to do
    with pytest.raises(TypeError):
        parts[0] + 1
    model = WEPaDiM(tiny_backbone((4, 6, 8)), resize=None, crop=None)
    assert model.partial_stats(torch.zeros(0, 3, 64, 64), allow_empty=True).is_empty
    with pytest.raises(ValueError, match="no training images"):
        model.partial_stats(torch.zeros(0, 3, 64, 64))


def test_assign_puts_the_largest_jobs_first_on_the_least_loaded_rank():
    assert ddp.assign([1, 8, 1, 8, 1, 1], 2) == [0, 0, 1, 1, 0, 1]
    assert ddp.assign([5, 5, 5], 1) == [0, 0, 0]
    owner = ddp.assign([3.0] * 5, 4)
    assert sorted(owner) == [0, 0, 1, 2, 3]


# ---------------------------------------------------------------- checkpoints and resume, one process
def test_resume_continues_where_it_stopped_and_equals_an_uninterrupted_run(hdmap, tmp_path):
    data = HDMAPDataset(hdmap, "A", "train")
    full, full_hist = _train(data)
    path = tmp_path / "draem.pt"
    resumed, hist = _interrupted_then_resumed(data, path)
    assert hist["start_step"] == 2 and hist["steps"] == 4 and len(hist["loss"]) == 2
    assert hist["loss"] == full_hist["loss"][2:] and hist["lr"] == full_hist["lr"][2:]
    assert all(torch.equal(v, resumed.state_dict()[k]) for k, v in full.state_dict().items())
    state = load_train_state(path)
    assert state["step"] == 2 and state["world_size"] == 1 and set(state) >= {"optimizer", "scheduler", "total"}
    assert torch.load(path, weights_only=True)["train_state"]["step"] == 2  # plain data: weights_only loads it
    # nothing left to do, another model, a checkpoint without training state, a changed batch size
    _train(data, checkpoint=path)
    with pytest.raises(ValueError, match="nothing left to train"):
        _train(data, resume=path)
    with pytest.raises(ValueError, match="holds a DRAEM"):
        train_draem(data, _augment(), steps=8, batch_size=4, model_kwargs=dict(TINY, recon_width=6),
                    progress=False, resume=path)
    old = save_checkpoint(tmp_path / "old.pt", full, {"mean_filter": 3})
    assert load_train_state(old) is None and load_checkpoint(old)[1]["mean_filter"] == 3
    with pytest.raises(ValueError, match="no training state"):
        _train(data, resume=old)
    with pytest.warns(RuntimeWarning, match="batch_size 8 \\(checkpoint: 4\\)"):
        train_draem(data, _augment(), steps=6, batch_size=8, model_kwargs=TINY, progress=False, resume=path)
    with pytest.raises(ValueError, match="distributed=True needs"):
        _train(data, distributed=True)
    with pytest.raises(ValueError, match="checkpoint_every needs checkpoint"):
        _train(data, checkpoint_every=2)


def test_cli_resume_continues_the_step_count(hdmap, tmp_path, capsys):
    argv = ["train", "draem", "--data", str(hdmap), "--domain", "A", "--recon-width", "4", "--disc-width", "4",
            "--depth", "2", "--batch-size", "4", "--quiet", "--out", str(tmp_path), "--device", "cpu"]
    assert main(argv + ["--steps", "2"]) == 0
    assert main(argv + ["--steps", "5", "--resume", str(tmp_path / "draem_A.pt")]) == 0
    out = capsys.readouterr().out
    assert "steps 2-5" in out
    history = json.loads((tmp_path / "history_A.json").read_text())
    assert history["start_step"] == 2 and len(history["loss"]) == 3 and "world_size" not in history
    assert load_train_state(tmp_path / "draem_A.pt")["step"] == 5
    with pytest.raises(SystemExit) as e:
        main(argv + ["--steps", "5", "--resume", str(tmp_path / "draem_A.pt")])
    assert e.value.code == 2 and "nothing left to train" in capsys.readouterr().err


# ---------------------------------------------------------------- two real processes
class _Same(Dataset):
    def __len__(self):
        return 16

    def __getitem__(self, i):
        return torch.zeros(SHAPE[1:])


def _phases(rank, tmp, hdmap, textures):
    """Everything the two ranks do; each rank saves what it saw to ``tmp/rank<r>.pt``."""
    out = {}
    # 1. draws: the augment, a main-process collate, a (forked) DataLoader worker
    out["aug"], out["collate"] = _draws()
    out["aug_again"], _ = _draws()
    loader = DataLoader(_Same(), batch_size=4, num_workers=1, collate_fn=FreqCutPasteCollate(**CUT, seed=7),
                        generator=torch.Generator().manual_seed(3), multiprocessing_context="fork")
    out["worker"] = next(iter(loader)).params.src_x
    # 2. DDP DRAEM: an uninterrupted run; one stopped after 2 steps and resumed
    data = HDMAPDataset(hdmap, "A", "train")
    model, history = _train(data, checkpoint=f"{tmp}/full.pt")
    out["full"], out["full_history"] = model.state_dict(), history
    resumed, history = _interrupted_then_resumed(data, f"{tmp}/resume.pt")
    out["resumed"], out["resumed_history"] = resumed.state_dict(), history
    # 3. WE-PaDiM: sharded statistics (7 images: shards of 4 and 3; 1 image: rank 1's shard is empty)
    net = tiny_backbone((4, 6, 8))
    model = WEPaDiM(net, resize=None, crop=None, batch_size=3)
    for category in ("fabric", "wood"):
        train = FolderDataset(textures, category, "train", channels=3)
        out[f"shard_{category}"] = len(ddp.shard(train))
        out[f"stats_{category}"] = ddp.sharded_stats(model, train).state_dict()
    for kind, extra in (("wepadim", {}), ("padim", {"d": 10})):
        r = fit_evaluate(textures, "fabric", kind, backbone=net, resize=None, crop=None, batch_size=3, **extra)
        out[f"fit_{kind}"] = None if r is None else {k: r[k] for k in ("image_auroc", "pixel_auroc", "scores")}
    # 4. all_reduce refuses shapes that differ, on every rank
    for name, stats in (("mismatch", GaussianStats.from_embeddings(torch.rand(2, 3 + 2 * rank, 4))),
                        ("all_empty", GaussianStats.empty())):
        try:
            stats.all_reduce()
            out[name] = "no error"
        except ValueError as e:
            out[name] = str(e)
    # 5. the grid, groups split between the ranks
    out["grid"] = run_grid(textures, ["fabric", "wood"], f"{tmp}/grid", backbone=net, echo=lambda *a: None, **GRID)
    return out


def _rank_main(rank, world, tmp, hdmap, textures):
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{tmp}/store", rank=rank, world_size=world,
                            timeout=datetime.timedelta(seconds=120))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.save(_phases(rank, tmp, hdmap, textures), f"{tmp}/rank{rank}.pt")
    except BaseException:
        (open(f"{tmp}/error{rank}.txt", "w")).write(traceback.format_exc())
        raise
    finally:
        dist.destroy_process_group()


def _spawn(fn, args, nprocs=2, timeout=300):
    import torch.multiprocessing as mp

    context = mp.start_processes(fn, args=args, nprocs=nprocs, join=False, start_method="spawn")
    deadline = time.monotonic() + timeout
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for p in context.processes:
                p.kill()
            raise TimeoutError(f"the {nprocs} processes did not finish in {timeout} s")


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory, hdmap, textures):
    tmp = tmp_path_factory.mktemp("ddp")
    try:
        _spawn(_rank_main, (2, str(tmp), str(hdmap), str(textures)))
    except Exception:
        errors = "".join(p.read_text() for p in tmp.glob("error*.txt"))
        pytest.fail(f"the 2-process run failed:\n{errors}")
    return tmp, [torch.load(tmp / f"rank{r}.pt", weights_only=False) for r in (0, 1)]


def test_two_ranks_draw_differently_and_reproducibly(two_ranks, world):
    _, ranks = two_ranks
    for key in ("aug", "collate", "worker"):
        assert not np.array_equal(ranks[0][key], ranks[1][key]), key
    for rank, seen in enumerate(ranks):
        assert np.array_equal(seen["aug"], seen["aug_again"])
        world(rank, 2)  # the same (seed, rank, world) in another process: the same draws
        aug, collate = _draws()
        assert np.array_equal(aug, seen["aug"]) and np.array_equal(collate, seen["collate"])


def test_ddp_draem_keeps_the_ranks_identical_and_the_checkpoint_scores_alone(two_ranks, hdmap):
    tmp, (r0, r1) = two_ranks
    assert all(torch.equal(v, r1["full"][k]) for k, v in r0["full"].items())
    history = r0["full_history"]
    assert history["world_size"] == 2 and history["steps"] == 4 and history["epochs"] == 2  # 8 images a rank
    assert history["loss"] == r1["full_history"]["loss"]  # means over the ranks
    model, config = load_checkpoint(tmp / "full.pt")
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in r0["full"].items())
    assert load_train_state(tmp / "full.pt")["world_size"] == 2
    result = evaluate(model, HDMAPDataset(hdmap, "A", "test"), mean_filter=3)
    assert np.isfinite(result["scores"]).all() and 0.0 <= result["image_auroc"] <= 1.0
    # one process with the same seed trains on other batches: a different model
    single, _ = _train(HDMAPDataset(hdmap, "A", "train"))
    assert not all(torch.equal(v, single.state_dict()[k]) for k, v in r0["full"].items())


def test_ddp_resume_equals_the_uninterrupted_ddp_run(two_ranks):
    _, ranks = two_ranks
    for seen in ranks:
        assert seen["resumed_history"]["start_step"] == 2
        assert seen["resumed_history"]["loss"] == seen["full_history"]["loss"][2:]
        assert all(torch.equal(v, seen["resumed"][k]) for k, v in seen["full"].items())


@pytest.mark.parametrize("category, shards", [("fabric", (4, 3)), ("wood", (1, 0))])
def test_sharded_statistics_equal_one_process(two_ranks, textures, category, shards):
    _, ranks = two_ranks
    assert (ranks[0][f"shard_{category}"], ranks[1][f"shard_{category}"]) == shards
    model = WEPaDiM(tiny_backbone((4, 6, 8)), resize=None, crop=None, batch_size=3)
    alone = model.partial_stats(FolderDataset(textures, category, "train", channels=3))
    scale = {"mean": float(alone.mean().abs().max()), "cov": float((alone.outer / alone.count).abs().max())}
    for seen in ranks:  # every rank holds the total
        stats = GaussianStats.from_state_dict(seen[f"stats_{category}"])
        assert stats.count == alone.count == sum(shards)
        # relative to the size of what is summed (one image: the covariance is 0 up to rounding)
        for name, a, b in (("mean", stats.mean(), alone.mean()), ("cov", stats.covariance(), alone.covariance())):
            assert float((a - b).abs().max()) <= 1e-10 * scale[name], name


@pytest.mark.parametrize("kind, extra", [("wepadim", {}), ("padim", {"d": 10})])
def test_two_process_fit_evaluate_equals_one_process(two_ranks, textures, kind, extra):
    _, (r0, r1) = two_ranks
    assert r1[f"fit_{kind}"] is None  # rank 0 alone fits and evaluates
    alone = fit_evaluate(textures, "fabric", kind, backbone=tiny_backbone((4, 6, 8)), resize=None, crop=None,
                         batch_size=3, **extra)
    assert r0[f"fit_{kind}"]["image_auroc"] == alone["image_auroc"]
    assert r0[f"fit_{kind}"]["pixel_auroc"] == pytest.approx(alone["pixel_auroc"], abs=1e-6)
    np.testing.assert_allclose(r0[f"fit_{kind}"]["scores"], alone["scores"], rtol=1e-4)


def test_all_reduce_of_different_shapes_fails_on_every_rank(two_ranks):
    _, ranks = two_ranks
    for seen in ranks:
        assert "rank 0: (4, 3), rank 1: (4, 5)" in seen["mismatch"]
        assert "every rank's shard was empty" in seen["all_empty"]


def test_two_process_grid_equals_one_process(two_ranks, textures, tmp_path):
    tmp, (r0, r1) = two_ranks
    alone = run_grid(textures, ["fabric", "wood"], tmp_path, backbone=tiny_backbone((4, 6, 8)),
                     echo=lambda *a: None, **GRID)
    assert len(r0["grid"]) == len(alone) == 16 and 0 < len(r1["grid"]) < 16
    for a, b in zip(r0["grid"], alone):  # same runs in the same order (the ranks ran with 1 thread: approx)
        assert [a.get(k) for k in RECORD_KEYS[:6]] == [b.get(k) for k in RECORD_KEYS[:6]]
        assert [a.get(k) for k in RECORD_KEYS[6:]] == pytest.approx([b.get(k) for k in RECORD_KEYS[6:]], abs=1e-6)
    for name in ("results_by_image.csv", "results_by_pixel.csv", "configs_by_image.csv"):
        ddp_rows, one_rows = ((folder / name).read_text().splitlines() for folder in (tmp / "grid", tmp_path))
        assert ddp_rows[0] == one_rows[0] and sorted(r.split(",")[:6] for r in ddp_rows[1:]) == \
            sorted(r.split(",")[:6] for r in one_rows[1:])
    assert len(list((tmp / "grid" / "runs").glob("*.json"))) == 16


# ---------------------------------------------------------------- torchrun, as a user runs it
def _torchrun(args, cwd, timeout=300):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONWARNINGS="ignore")
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "fastfreq", *args]
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_torchrun_train_draem(hdmap, tmp_path, capsys):
    out = _torchrun(["train", "draem", "--data", str(hdmap), "--domain", "A", "--steps", "3", "--batch-size", "4",
                     "--recon-width", "4", "--disc-width", "4", "--depth", "2", "--out", str(tmp_path / "ddp"),
                     "--quiet", "--device", "cpu"], tmp_path)
    assert out.count("trained DRAEM on 16 images x 2 processes: 3 steps") == 1  # rank 0 alone prints
    history = json.loads((tmp_path / "ddp" / "history_A.json").read_text())
    assert history["world_size"] == 2 and len(history["loss"]) == 3
    assert load_train_state(tmp_path / "ddp" / "draem_A.pt")["step"] == 3
    # the checkpoint is an ordinary one: `fastfreq eval` in one process
    assert main(["eval", "--checkpoint", str(tmp_path / "ddp" / "draem_A.pt"), "--data", str(hdmap),
                 "--domain", "A"]) == 0
    assert "domain A: 8 test images\nimage AUROC" in capsys.readouterr().out


def test_torchrun_train_wepadim_equals_one_process(textures, tmp_path, capsys):
    args = ["train", "wepadim", "--data", str(textures), "--category", "fabric", "--resize", "64", "--crop", "64",
            "--quiet"]
    out = _torchrun(args + ["--out", str(tmp_path / "ddp")], tmp_path)
    assert out.count("wepadim fabric: fit 7 images") == 1
    assert main(args + ["--out", str(tmp_path / "one")]) == 0
    ddp_metrics, one = (json.loads((tmp_path / d / "metrics_wepadim_fabric.json").read_text())
                        for d in ("ddp", "one"))
    assert ddp_metrics["n_train"] == one["n_train"] == 7
    assert ddp_metrics["image_auroc"] == one["image_auroc"]
    assert ddp_metrics["pixel_auroc"] == pytest.approx(one["pixel_auroc"], abs=1e-6)


def test_the_torch_module_draws_per_rank_like_the_collate(world):
    """FreqCutPaste (module front end): one process draws as ScaledCutPaste(seed) did; ranks differ."""
    from fastfreq import FreqCutPaste

    x = torch.zeros(SHAPE)
    expected = sample_params(np.random.default_rng(7), SHAPE[0], *SHAPE[2:], probability=0.5, amplitude=(0.0, 2.0),
                             **CUT).src_x

    def drawn(rank=None, size=None):
        if rank is not None:
            world(rank, size)
        module = FreqCutPaste(**CUT, seed=7)
        module(x)
        return module.last_params.src_x

    assert np.array_equal(drawn(), expected)
    rank0, rank1 = drawn(0, 2), drawn(1, 2)
    assert not np.array_equal(rank0, rank1)
    assert np.array_equal(drawn(1, 2), rank1)  # reproducible from (seed, rank, world)
    assert not np.array_equal(rank0, expected)  # world size 2 draws differ from one process
