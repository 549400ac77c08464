"""Small vectorised helpers every seed module uses: day numbers, weighted draws, lookups, money rounding,
and text columns (references, tokens) built from code-point blocks without a Python loop per row.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd


def to_day_numbers(dates) -> np.ndarray:
    return np.asarray(dates, dtype="datetime64[D]").astype(np.int64)


def as_days(numbers: np.ndarray) -> np.ndarray:
    return np.asarray(numbers, dtype=np.int64).astype("datetime64[D]")


def pick_per_row(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One categorical draw per row of an (n, k) probability (or weight) matrix."""
    cumulative = np.cumsum(probabilities, axis=1)
    u = rng.random(len(probabilities)) * cumulative[:, -1]
    return np.minimum((u[:, None] >= cumulative).sum(axis=1), probabilities.shape[1] - 1)


def choice(rng: np.random.Generator, options_and_weights, size: int) -> np.ndarray:
    options, weights = options_and_weights
    weights = np.asarray(weights, dtype=float)
    return np.asarray(options)[rng.choice(len(options), size=size, p=weights / weights.sum())]


def lookup(keys: np.ndarray, mapping: Mapping, dtype=object) -> np.ndarray:
    """mapping[key] for every element, resolving each distinct key once (hashing, not sorting, the strings)."""
    codes, uniques = pd.factorize(np.asarray(keys, dtype=object))
    return np.array([mapping[k] for k in uniques], dtype=dtype)[codes]


def group_indices(keys: np.ndarray) -> dict:
    """Row positions per distinct key, keys in sorted order (deterministic)."""
    return pd.Series(np.arange(len(keys))).groupby(keys, sort=True).indices


def round_money(values: np.ndarray, zero_decimal: np.ndarray | bool = False) -> np.ndarray:
    return np.where(zero_decimal, np.round(values), np.round(values, 2))


def charm_price(values: np.ndarray, zero_decimal: np.ndarray) -> np.ndarray:
    """Shelf prices: 12.99 style, or round tens of yen."""
    return np.where(zero_decimal, np.ceil(values / 10) * 10, np.ceil(values) - 0.01)


_SPLITMIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
_HEX_CODES = np.frombuffer(b"0123456789abcdef", dtype=np.uint8).astype(np.uint32)


def mix64(values: np.ndarray, salt: int) -> np.ndarray:
    """splitmix64 finaliser: a bijection on 64-bit integers, so distinct ids give distinct tokens."""
    z = values.astype(np.uint64) + np.uint64(salt * int(_SPLITMIX[0]) % 2**64)
    z = (z ^ (z >> np.uint64(30))) * _SPLITMIX[1]
    z = (z ^ (z >> np.uint64(27))) * _SPLITMIX[2]
    return z ^ (z >> np.uint64(31))


def hex_codes(values: np.ndarray, width: int = 16) -> np.ndarray:
    shifts = (np.arange(width - 1, -1, -1, dtype=np.uint64) * np.uint64(4))
    return _HEX_CODES[((values.astype(np.uint64)[:, None] >> shifts) & np.uint64(15)).astype(np.intp)]


def digit_codes(values: np.ndarray, width: int) -> np.ndarray:
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((values.astype(np.int64)[:, None] // powers) % 10 + 48).astype(np.uint32)


def random_digit_codes(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    return (rng.integers(0, 10, size=(n, width)) + 48).astype(np.uint32)


def compose_text(n: int, *parts) -> np.ndarray:
    """Fixed-width strings built from constant text and (n, k) code-point blocks, without a Python loop."""
    blocks = [
        np.broadcast_to(np.frombuffer(part.encode("utf-32-le"), dtype=np.uint32), (n, len(part)))
        if isinstance(part, str) else part
        for part in parts
        if not (isinstance(part, str) and part == "")
    ]
    codes = np.ascontiguousarray(np.hstack(blocks).astype(np.uint32))
    return codes.view(f"<U{codes.shape[1]}").ravel().astype(object)


def hex_tokens(ids: np.ndarray, salt: int, width: int) -> np.ndarray:
    """Hash-like hex tokens, unique per id (the first 16 characters are a bijection of the id)."""
    blocks = [hex_codes(mix64(ids, salt + k), 16) for k in range(math.ceil(width / 16))]
    return compose_text(len(ids), np.hstack(blocks)[:, :width])
