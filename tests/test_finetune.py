"""Fine-tuning: a preset's weights into Keras and back."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from livegen.model import untrained
from livegen.music import codec, voices
from training.model import build_model, export_weights, import_weights


@pytest.mark.parametrize("hears_voices", [True, False])
def test_import_weights_is_the_inverse_of_export_weights(hears_voices):
    dims = {"embedding": 8, "hidden": 12, "layers": 2, **({"voices": voices.SCHEME} if hears_voices else {})}
    weights = untrained.random_weights(dims, seed=4, scale=0.3, vocab=codec.MODAL_VOCAB_SIZE)
    model = build_model(codec.MODAL_VOCAB_SIZE, 8, 12, 2, voices=hears_voices)
    import_weights(model, weights)
    exported = export_weights(model)
    assert sorted(exported) == sorted(weights)
    assert all(np.array_equal(exported[name], weights[name]) for name in weights)
    if hears_voices:  # the padding row a preset leaves out adds nothing
        assert not np.any(model.get_layer("voices").get_weights()[0][voices.PAD])
    with pytest.raises(ValueError, match="do not fit the model: missing none, extra"):
        import_weights(build_model(codec.MODAL_VOCAB_SIZE, 8, 12, 1, voices=hears_voices), weights)
