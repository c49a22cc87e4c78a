"""Shared test helpers: random weights in the preset layout, and small musical phrases."""

from livegen.music import codec
from livegen.music import voices as voice_rows

from livegen.model import untrained
from livegen.model.runtime import StepModel


def random_weights(embedding=8, hidden=16, layers=2, seed=0, scale=0.3, vocab=codec.VOCAB_SIZE, voices=False):
    """Random weights of a test-sized model (small dims, larger values than the bench's); ``voices``: one
    that hears voices, as presets trained now do."""
    dims = {"embedding": embedding, "hidden": hidden, "layers": layers}
    if voices:
        dims["voices"] = voice_rows.SCHEME
    return untrained.random_weights(dims, seed, scale, vocab)


def phrase(tonic_pitch=60, minor=False, bars=2, start=0):
    """A stepwise tune with a bass note each bar, in the key of ``tonic_pitch``."""
    steps = (0, 2, 3, 5, 7, 8, 11, 12) if minor else (0, 2, 4, 5, 7, 9, 11, 12)
    notes = []
    for bar in range(bars):
        bar_start = start + bar * 48
        notes.append(codec.Note(bar_start, tonic_pitch - 12 + (7 if bar % 2 else 0), 70, 48))
        for beat in range(4):
            step = steps[(bar * 4 + beat) % len(steps)]
            notes.append(codec.Note(bar_start + beat * 12, tonic_pitch + step, 90, 12))
    return codec.merge_unisons(notes)


class Recorder(StepModel):
    """A step model that keeps every token it is fed, to check what a caller tells the model."""

    def __init__(self, weights):
        super().__init__(weights)
        self.heard = []

    def feed(self, tokens, state, voices=None):
        self.heard.extend(int(token) for token in tokens)
        return super().feed(tokens, state, voices)

    def step(self, token, state, voices=()):
        self.heard.append(int(token))
        return super().step(token, state, voices)
