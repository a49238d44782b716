"""Atomic file writes: a file is either its old self or completely new, never half written.

Each writer writes a temporary file beside the target and renames it over the
target (``os.replace`` is atomic on POSIX and Windows), creating parent folders.
"""
from __future__ import annotations

import contextlib
import csv
import json
import os
import tempfile


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed."""
    path = os.fspath(path)
    parent = os.path.dirname(path) or "."
    os.makedirs(parent, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def write_text(path, text: str) -> str:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    return os.fspath(path)


def write_json(path, data, indent: int = 1) -> str:
    return write_text(path, json.dumps(data, indent=indent))


def write_csv(path, header, rows) -> str:
    """A CSV with one ``header`` row and then ``rows`` (sequences of values; None is written as "")."""
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(list(header))
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
    return os.fspath(path)


def save_torch(obj, path) -> str:
    """``torch.save`` through a temporary file."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return os.fspath(path)
