"""Untrained weights: a preset's layout, float32, the same for the same seed."""

import numpy as np

from livegen.model.preset import expected_arrays
from livegen.model.runtime import StepModel
from livegen.model.untrained import random_weights

DIMS = {"embedding": 8, "hidden": 16, "layers": 2}


def test_random_weights_have_the_preset_layout_and_run():
    weights = random_weights(DIMS)
    assert {name: array.shape for name, array in weights.items()} == expected_arrays(DIMS)
    assert all(array.dtype == np.float32 for array in weights.values())
    model = StepModel(weights)
    assert np.isfinite(model.step(1, model.initial_state())).all()


def test_the_seed_decides_the_values_and_scale_their_size():
    assert all(np.array_equal(a, b) for a, b in zip(random_weights(DIMS, seed=4).values(),
                                                    random_weights(DIMS, seed=4).values()))
    small, large = random_weights(DIMS, scale=0.1)["embedding"], random_weights(DIMS, scale=0.3)["embedding"]
    assert np.allclose(3 * small, large)
