"""What the cadence (livegen.model.cadence) costs a draw: the same Sampler.choose with and without it,
interleaved, in a middle bar and in the answer's last bar, on random logits of the modal vocabulary.

Run: ``python scripts/cadence_cost.py``.
"""

from __future__ import annotations

import time

import numpy as np

from livegen.model.cadence import Cadence
from livegen.model.sampling import Sampler, SamplingConfig
from livegen.music import codec
from livegen.music.key import Key

DRAWS, ROUNDS = 2000, 20
A_NOTE = [codec.position_token(0), codec.pitch_token(48), codec.velocity_token(80), codec.duration_token(12)]


def cursor_after(tokens) -> codec.Cursor:
    cursor = codec.Cursor(codec.Meter())
    for token in tokens:
        cursor.advance(token)
    return cursor


def per_draw(sampler: Sampler, logits: np.ndarray, cursor: codec.Cursor, cadence: Cadence | None) -> float:
    started = time.perf_counter()
    for _ in range(DRAWS):
        sampler.choose(logits, cursor, cadence=cadence)
    return (time.perf_counter() - started) / DRAWS


def main() -> None:
    logits = np.random.default_rng(0).normal(size=codec.MODAL_VOCAB_SIZE).astype(np.float32)
    cadence = Cadence.of(Key(0, "major"), 0, start=48, end=192)  # bars 1-3 of 4/4: it closes in bar 3
    sampler = Sampler(SamplingConfig(temperature=0.95, top_p=0.95), seed=0)
    for name, cursor in (("a middle bar", cursor_after([codec.BAR] * 2 + A_NOTE)),
                         ("the last bar", cursor_after([codec.BAR] * 4 + A_NOTE))):
        without, with_it = [], []
        for _ in range(ROUNDS):
            without.append(per_draw(sampler, logits, cursor, None))
            with_it.append(per_draw(sampler, logits, cursor, cadence))
        plain, closing = np.median(without) * 1e6, np.median(with_it) * 1e6
        print(f"{name}: a draw {plain:.2f} us, with the cadence {closing:.2f} us ({closing - plain:+.2f})")


if __name__ == "__main__":
    main()
