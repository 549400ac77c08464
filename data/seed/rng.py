"""Random streams: one independent, reproducible numpy generator per concern (`Context.rng(name)`)."""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, name: str) -> np.random.Generator:
    """An independent generator per concern, keyed by a stable hash (Python's hash() is salted per process)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])
