"""Train / validation / test split, the lab's way: one shuffle with a seed, then cut."""

from __future__ import annotations

import numpy as np
import pandas as pd


def split_frame(frame: pd.DataFrame, fractions: tuple[float, float, float], seed: int) -> dict[str, pd.DataFrame]:
    """``frame.sample(frac=1, random_state=seed)`` cut at 70% and 90%: the notebook's exact rows."""
    shuffled = frame.sample(frac=1, random_state=seed)
    n = len(shuffled)
    first = int(fractions[0] * n)
    second = int((fractions[0] + fractions[1]) * n)
    if first == 0 or second in (first, n):
        raise ValueError(f"{n} rows are too few to split {fractions}")
    parts = np.split(np.arange(n), [first, second])
    return {name: shuffled.iloc[idx] for name, idx in zip(("train", "validation", "test"), parts, strict=True)}
