"""Untrained weights in a preset's layout: for timing and plumbing, which do not depend on training."""

from __future__ import annotations

import numpy as np

from livegen.music import codec

from livegen.model.preset import expected_arrays


def random_weights(dims: dict, seed: int = 0, scale: float = 0.1, vocab: int = codec.VOCAB_SIZE) -> dict:
    """Float32 normal weights times ``scale``, with the names and shapes a preset of ``dims`` holds."""
    rng = np.random.default_rng(seed)
    return {name: (rng.standard_normal(shape) * scale).astype(np.float32)
            for name, shape in expected_arrays(dims, vocab).items()}
