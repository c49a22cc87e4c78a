"""Offline continuation: prime the model with a piece, sample what comes next, bar by bar."""

from __future__ import annotations

from dataclasses import dataclass

from livegen.music import codec
from livegen.music.key import Key, bar_token, estimate_key, tells_mode, transposes
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler


@dataclass(frozen=True)
class Continuation:
    """Notes that continue a prime, in the prime's key, with what was decided on the way."""

    notes: tuple[codec.Note, ...]
    key: Key | None
    last_bar: int
    tokens_sampled: int


def hear_prime(key_mode: str, prime, meter: codec.Meter) -> tuple[Key | None, int, list[int], codec.Cursor]:
    """The prime as a preset of this key mode hears it: its key (None where the preset takes keys
    as written), the shift to the model's key, its tokens, and a cursor past them that opens bars
    as the model must hear them."""
    key = estimate_key(prime) if transposes(key_mode) else None
    shift = key.to_canonical() if key is not None else 0
    opens_bar = bar_token(tells_mode(key_mode), key)
    tokens = codec.encode(codec.merge_unisons(codec.transpose(prime, shift)), meter, bar_token=opens_bar)
    cursor = codec.Cursor(meter, opens_bar)
    for token in tokens:
        cursor.advance(token)
    return key, shift, tokens, cursor


def continue_notes(model: StepModel, key_mode: str, prime, meter: codec.Meter, bars: int,
                   sampler: Sampler) -> Continuation:
    """Continue ``prime`` (notes) for ``bars`` bars after the bar of its last onset.

    A canonical-key preset hears the prime moved to C major / A minor and answers there (told
    the prime's mode, where its key mode says so); the answer is moved back to the prime's own key.
    """
    if bars < 1:
        raise ValueError(f"bars to generate must be at least 1, got {bars}")
    key, shift, prime_tokens, cursor = hear_prime(key_mode, prime, meter)
    state = model.initial_state()
    logits = model.feed(prime_tokens, state)
    last_bar = cursor.bar + bars
    answer = []
    sampled = 0
    while True:
        token = sampler.choose(logits, cursor)
        if token == cursor.bar_token and cursor.bar + 1 > last_bar:
            break
        sampled += 1
        note = cursor.advance(token)
        if note is not None:
            answer.append(note)
        logits = model.step(token, state)
    moved_back = codec.transpose(answer, -shift) if shift else answer
    return Continuation(tuple(moved_back), key, last_bar, sampled)
