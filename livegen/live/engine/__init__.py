"""The engine: hears the player note by note, keeps the model primed, and answers on the beat.

``Companion`` is a thin dispatcher, driven by ``hear(message, time)`` and ``tick(time)`` with
times in seconds (so tests run it on a fake clock), that calls its parts in order:

- ``grid``: ticks and seconds on the clock; the pulses and clicks that set the grid.
- ``performance``: the player's keys, pedal and call, and which notes are ready to encode.
- ``seed`` and ``priming``: the seed buffer, the key, and the model state primed note by note.
- ``fork``: one fork of the state sampled ahead of the clock, for an answer and an accompaniment.
- ``answer`` and ``accompany``: the two modes, each running its fork.
- ``controls``: knobs and MIDI learn.

``EngineThread`` (``thread``) drives the companion from the listener's queue.
"""

from livegen.live.engine.answer import AnswerPlan
from livegen.live.engine.companion import (ACCOMPANYING, ANSWERING, CLOCK_MESSAGES, LISTENING, PAUSED, PLAYING,
                                           REPORTS_KEPT, Companion)
from livegen.live.engine.config import MODES, CompanionConfig
from livegen.live.engine.performance import HeardNote
from livegen.live.engine.priming import REPRIME_TOKENS
from livegen.live.engine.seed import MAX_HISTORY_NOTES
from livegen.live.engine.thread import CHANNEL_MESSAGES, EngineThread

__all__ = ["ACCOMPANYING", "ANSWERING", "AnswerPlan", "CHANNEL_MESSAGES", "CLOCK_MESSAGES", "Companion",
           "CompanionConfig", "EngineThread", "HeardNote", "LISTENING", "MAX_HISTORY_NOTES", "MODES", "PAUSED",
           "PLAYING", "REPORTS_KEPT", "REPRIME_TOKENS"]
