"""Offline continuation: prime the model with a piece, sample what comes next, bar by bar."""

from __future__ import annotations

from dataclasses import dataclass

from livegen.music import codec
from livegen.music.dynamics import DEFAULT_FOLLOW, Dynamics, level
from livegen.music.hearing import hear
from livegen.music.key import Key, call_key
from livegen.model.cadence import Cadence
from livegen.model.echo import EchoGuard
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler
from livegen.errors import SettingError


@dataclass(frozen=True)
class Continuation:
    """Notes that continue a prime, in the prime's key, with what was decided on the way."""

    notes: tuple[codec.Note, ...]
    key: Key | None
    last_bar: int
    tokens_sampled: int


def continue_notes(model: StepModel, key_mode: str, prime, meter: codec.Meter, bars: int,
                   sampler: Sampler, follow_dynamics: float = DEFAULT_FOLLOW) -> Continuation:
    """Continue ``prime`` (notes) for ``bars`` bars after the bar of its last onset.

    A canonical-key preset hears the prime moved to C major / A minor and answers there (told
    the prime's mode, where its key mode says so); the answer is moved back to the prime's own key,
    and played at the level of the prime's last notes as ``follow_dynamics`` says (see
    :mod:`livegen.music.dynamics`). It plays back no more than ``ECHO_LIMIT`` of the prime's
    pitches in a row (:mod:`livegen.model.echo`), and, where the sampler's config says so, closes on
    the key's tonic chord in its last bar (:mod:`livegen.model.cadence`).
    """
    if bars < 1:
        raise SettingError(f"bars to generate must be at least 1, got {bars}")
    heard = hear(key_mode, prime, meter)
    dynamics = Dynamics(follow_dynamics)
    prime_level = level(note.velocity for note in sorted(prime, key=lambda note: note.onset))
    cursor = heard.cursor
    echo = EchoGuard(note.pitch for note in sorted(heard.notes, key=lambda note: (note.onset, note.pitch)))
    state = model.initial_state()
    logits = model.feed(heard.tokens, state, heard.voices)
    last_bar = cursor.bar + bars
    cadence = None
    if sampler.config.cadence:
        key = heard.hearing.key or call_key(prime)  # a preset that plays as written has none
        cadence = Cadence.of(key, heard.hearing.shift, meter.bar_start(cursor.bar + 1), meter.bar_start(last_bar + 1))
    answer = []
    sampled = 0
    while True:
        token = sampler.choose(logits, cursor, barred=echo.barred, cadence=cadence)
        if token == cursor.bar_token and cursor.bar + 1 > last_bar:
            break
        sampled += 1
        note = cursor.advance(token)
        if note is not None:
            echo.hear(note.pitch)
            answer.append(codec.Note(note.onset, note.pitch, dynamics.velocity(note.velocity, prime_level),
                                     note.duration))
        logits = model.step(token, state, model.voices_after(cursor))
    shift = heard.hearing.shift
    moved_back = codec.transpose(answer, -shift) if shift else answer
    return Continuation(tuple(moved_back), heard.hearing.key, last_bar, sampled)
