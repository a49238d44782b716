"""Per-position multivariate Gaussians from streaming sufficient statistics.

``GaussianStats`` holds, for P positions and D features, the count n, the sum
of x (P, D) and the sum of outer products x x^T (P, D, D), all float64 on the
CPU. Memory is O(P D^2) whatever the number of images; the statistics add, so
partial fits (other processes, other shards) merge with ``+`` / ``merge``.
``GaussianModel`` turns them into mean, covariance ``E[xx^T] - mu mu^T + eps I``
and the Cholesky factor of its inverse, and scores Mahalanobis distances.

Across processes (``torchrun``): each rank accumulates its own shard and
``stats.all_reduce()`` sums count, sums and outer products over the process
group; ``sum([a, b, c])`` merges partial results in one process.
"""
from __future__ import annotations

import warnings

import torch

from fastfreq._validate import check_float


def _check_embeddings(x, name: str = "embeddings") -> torch.Tensor:
    """(B, D, H, W) or (B, D, P) float tensor -> (B, D, P) without NaN/Inf."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim not in (3, 4):
        raise ValueError(f"{name} must have shape (B, D, H, W) or (B, D, P), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    if x.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(x.shape)}")
    x = x.detach().flatten(2)
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contain NaN or Inf values")
    return x


def check_eps(eps) -> float:
    return check_float("cov_reg (eps)", eps, 0.0, open_low=True)


class GaussianStats:
    """Additive sufficient statistics of per-position feature vectors.

    ``update(x)`` takes a batch (B, D, H, W) or (B, D, P); ``a + b`` (and
    ``sum([...])``) merges partial results over disjoint images;
    ``all_reduce()`` sums them over a ``torch.distributed`` process group.
    Sums run in float64 on the CPU. ``GaussianStats.empty()`` (P = D = 0, no
    images) takes the shape of whatever is merged or all-reduced into it: what
    a process whose shard has no images contributes.
    """

    def __init__(self, positions: int, dim: int):
        self.positions, self.dim = int(positions), int(dim)
        self.count = 0
        self.sum = torch.zeros(self.positions, self.dim, dtype=torch.float64)
        self.outer = torch.zeros(self.positions, self.dim, self.dim, dtype=torch.float64)

    @classmethod
    def empty(cls) -> "GaussianStats":
        """No images and no shape yet (P = D = 0): adopts the shape of what is merged or all-reduced into it."""
        return cls(0, 0)

    @property
    def is_empty(self) -> bool:
        """True for ``GaussianStats.empty()``: no images and no shape."""
        return self.count == 0 and self.positions == 0 and self.dim == 0

    @classmethod
    def from_embeddings(cls, x) -> "GaussianStats":
        x = _check_embeddings(x)
        stats = cls(x.shape[2], x.shape[1])
        stats.update(x)
        return stats

    def __repr__(self) -> str:
        return f"GaussianStats(positions={self.positions}, dim={self.dim}, count={self.count})"

    def update(self, x) -> "GaussianStats":
        x = _check_embeddings(x)
        if x.shape[1:] != (self.dim, self.positions):
            raise ValueError(f"embeddings have (D, P) = {tuple(x.shape[1:])}, these statistics hold "
                             f"(D, P) = {(self.dim, self.positions)}")
        xp = x.to("cpu", torch.float64).permute(2, 0, 1)  # (P, B, D)
        self.sum += xp.sum(dim=1)
        self.outer.baddbmm_(xp.transpose(1, 2), xp)  # sum_b x_b x_b^T per position
        self.count += x.shape[0]
        return self

    def merge(self, other: "GaussianStats") -> "GaussianStats":
        """In-place: add another partial result (same positions and dim)."""
        if not isinstance(other, GaussianStats):
            raise TypeError(f"can only merge GaussianStats, got {type(other).__name__}")
        if other.is_empty:
            return self
        if self.is_empty:
            self._reshape(other.positions, other.dim)
        if (other.positions, other.dim) != (self.positions, self.dim):
            raise ValueError(f"cannot merge statistics of (P, D) = {(other.positions, other.dim)} into "
                             f"(P, D) = {(self.positions, self.dim)}")
        self.count += other.count
        self.sum += other.sum
        self.outer += other.outer
        return self

    def __add__(self, other: "GaussianStats") -> "GaussianStats":
        if not isinstance(other, GaussianStats):
            return NotImplemented
        out = GaussianStats(self.positions, self.dim)
        return out.merge(self).merge(other)

    def __radd__(self, other) -> "GaussianStats":
        """``0 + stats`` (so ``sum(list_of_stats)`` works): a copy of ``stats``."""
        if isinstance(other, (int, float)) and not isinstance(other, bool) and other == 0:
            return GaussianStats(self.positions, self.dim).merge(self)
        return NotImplemented

    def _reshape(self, positions: int, dim: int) -> None:
        self.positions, self.dim = int(positions), int(dim)
        self.sum = torch.zeros(self.positions, self.dim, dtype=torch.float64)
        self.outer = torch.zeros(self.positions, self.dim, self.dim, dtype=torch.float64)

    def all_reduce(self, group=None) -> "GaussianStats":
        """Sum count, sums and outer products over a ``torch.distributed`` process group, in place; returns self.

        Every rank of ``group`` (default: the whole world) must call it. Ranks
        first exchange their (P, D): a rank holding ``GaussianStats.empty()``
        (its shard had no images) takes the others' shape and contributes
        zeros; ranks with different shapes all raise the same ValueError (no
        rank is left waiting). Without an initialised process group this is a
        no-op. The float64 sums go over the group's CPU backend (gloo).
        """
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            return self
        world = dist.get_world_size(group)
        mine = torch.tensor([self.positions, self.dim, int(not self.is_empty)], dtype=torch.int64)
        shapes = [torch.zeros(3, dtype=torch.int64) for _ in range(world)]
        dist.all_gather(shapes, mine, group=group)
        shapes = [tuple(int(v) for v in s) for s in shapes]
        known = sorted({(p, d) for p, d, has in shapes if has})
        if not known:
            raise ValueError("no process has any statistics: every rank's shard was empty")
        if len(known) > 1:
            per_rank = ", ".join(f"rank {r}: {(p, d) if has else 'empty'}" for r, (p, d, has) in enumerate(shapes))
            raise ValueError(f"cannot all-reduce statistics of different (P, D) shapes ({per_rank}): every rank "
                             f"must embed its images the same way")
        if self.is_empty:
            self._reshape(*known[0])
        self.sum, self.outer = self.sum.contiguous(), self.outer.contiguous()
        count = torch.tensor([self.count], dtype=torch.int64)
        dist.all_reduce(count, op=dist.ReduceOp.SUM, group=group)
        dist.all_reduce(self.sum, op=dist.ReduceOp.SUM, group=group)
        chunk = max(1, _BLOCK_BYTES // (8 * max(self.dim, 1) ** 2))  # the backend's buffers stay ~one block
        for p in range(0, self.positions, chunk):
            dist.all_reduce(self.outer[p:p + chunk], op=dist.ReduceOp.SUM, group=group)
        self.count = int(count.item())
        return self

    def mean(self) -> torch.Tensor:
        if self.count < 1:
            raise ValueError("no embeddings accumulated: fit needs at least one image")
        return self.sum / self.count

    def covariance(self) -> torch.Tensor:
        """Population covariance ``E[xx^T] - mu mu^T`` (P, D, D), float64, no regularisation."""
        mu = self.mean()
        cov = self.outer / self.count - mu.unsqueeze(2) * mu.unsqueeze(1)
        return 0.5 * (cov + cov.transpose(1, 2))

    def state_dict(self) -> dict:
        return {"count": self.count, "sum": self.sum, "outer": self.outer}

    @classmethod
    def from_state_dict(cls, state: dict) -> "GaussianStats":
        stats = cls(*state["sum"].shape)
        stats.count, stats.sum, stats.outer = int(state["count"]), state["sum"].double(), state["outer"].double()
        return stats


def _cholesky(cov: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Lower Cholesky factors L (L L^T = cov) of a (P, D, D) block, and how many positions fell back.

    Positions where Cholesky fails (cov not positive definite in float64) are
    factored from the eigendecomposition with eigenvalues clamped to a small
    positive floor instead.
    """
    chol, info = torch.linalg.cholesky_ex(cov)
    bad = info != 0
    n_bad = int(bad.sum())
    if n_bad:
        vals, vecs = torch.linalg.eigh(cov[bad])
        floor = vals.abs().amax(dim=-1, keepdim=True).clamp_min(1.0) * 1e-10
        fixed = (vecs * vals.clamp_min(floor).unsqueeze(-2)) @ vecs.transpose(-1, -2)
        chol[bad] = torch.linalg.cholesky(0.5 * (fixed + fixed.transpose(-1, -2)))
    return chol, n_bad


_BLOCK_BYTES = 64 * 2 ** 20  # float64 covariance block per Cholesky step in GaussianModel.fit


class GaussianModel:
    """Mean and Cholesky factor of the covariance per position, fitted from ``GaussianStats``.

    ``cov = E[xx^T] - mu mu^T + eps I`` (float64), factored as L L^T;
    ``mahalanobis(x)`` returns the distance ``sqrt((x-mu)^T cov^-1 (x-mu))``
    (or its square) per image and position as ``|z|`` with ``L z = x - mu``
    (batched triangular solves: no D^3 inverse is ever formed).
    """

    def __init__(self, mean: torch.Tensor, chol: torch.Tensor, eps: float, count: int = 0):
        self.mean = mean
        self.chol = chol
        self.eps = eps
        self.count = count

    @classmethod
    def fit(cls, stats: GaussianStats, eps: float = 0.01, dtype=torch.float32) -> "GaussianModel":
        eps = check_eps(eps)
        if not isinstance(stats, GaussianStats):
            raise TypeError(f"stats must be GaussianStats, got {type(stats).__name__}")
        mean = stats.mean()
        chol = torch.empty(stats.positions, stats.dim, stats.dim, dtype=dtype)
        n_bad = 0
        chunk = max(1, _BLOCK_BYTES // (8 * stats.dim ** 2))  # float64 temporaries bounded (~4 copies of a block)
        for p in range(0, stats.positions, chunk):
            mu = mean[p:p + chunk]
            cov = stats.outer[p:p + chunk] / stats.count
            cov.baddbmm_(mu.unsqueeze(2), mu.unsqueeze(1), alpha=-1)  # E[xx^T] - mu mu^T
            cov.diagonal(dim1=-2, dim2=-1).add_(eps)
            chol_p, bad = _cholesky(cov)
            chol[p:p + chunk] = chol_p
            n_bad += bad
        if n_bad:
            warnings.warn(f"covariance not positive definite at {n_bad} of {stats.positions} positions even with "
                          f"eps={eps}; used a clamped eigendecomposition there (consider a larger cov_reg)",
                          RuntimeWarning, stacklevel=2)
        return cls(mean.to(dtype), chol, eps, stats.count)

    @property
    def positions(self) -> int:
        return self.mean.shape[0]

    @property
    def dim(self) -> int:
        return self.mean.shape[1]

    def covariance(self) -> torch.Tensor:
        """The regularised covariance (P, D, D) reconstructed from the stored factor."""
        a = self.chol.double()
        return a @ a.transpose(1, 2)

    def to(self, device=None, dtype=None) -> "GaussianModel":
        return GaussianModel(self.mean.to(device=device, dtype=dtype),
                             self.chol.to(device=device, dtype=dtype), self.eps, self.count)

    def mahalanobis(self, x, squared: bool = False, chunk: int = 64) -> torch.Tensor:
        """(B, D, H, W) or (B, D, P) embeddings -> (B, P) distances (float of the model's dtype)."""
        x = _check_embeddings(x)
        if x.shape[1:] != (self.dim, self.positions):
            raise ValueError(f"embeddings have (D, P) = {tuple(x.shape[1:])}, the model was fitted on "
                             f"(D, P) = {(self.dim, self.positions)}")
        diff = (x.to(self.mean.device, self.mean.dtype).permute(2, 1, 0) - self.mean.unsqueeze(2))  # (P, D, B)
        out = torch.empty(self.positions, x.shape[0], dtype=self.mean.dtype, device=self.mean.device)
        for p in range(0, self.positions, chunk):  # bounds the (chunk, D, B) temporary
            z = torch.linalg.solve_triangular(self.chol[p:p + chunk], diff[p:p + chunk], upper=False)
            out[p:p + chunk] = z.square().sum(dim=1)
        out = out.t().contiguous()
        return out if squared else out.clamp_min_(0).sqrt_()

    def state_dict(self) -> dict:
        return {"mean": self.mean, "chol": self.chol, "eps": self.eps, "count": self.count}

    @classmethod
    def from_state_dict(cls, state: dict) -> "GaussianModel":
        return cls(state["mean"], state["chol"], float(state["eps"]), int(state.get("count", 0)))


__all__ = ["GaussianModel", "GaussianStats", "check_eps"]
