"""No parroting: an answer may repeat at most ``ECHO_LIMIT`` pitches of its call in a row.

A call-and-response answer takes up the call's motifs, but one that plays the call back note for
note is an echo, not an answer. The guard follows the answer's pitches (in the order the codec
writes them: by onset, rising within an onset, as the evaluation reads both) against every run of
the call's: once the answer has matched ``limit`` of the call's pitches in a row, the call's next
pitch is barred as the answer's next, so a run stops at ``limit``. Anything shorter, and the same
pitches in any other order, stays free. Like a no-repeat n-gram rule in text generation, it keeps
the model's choice everywhere else. Pure: pitches in, barred pitches out.
"""

from __future__ import annotations

import numpy as np

from livegen.music import codec

ECHO_LIMIT = 8  # the longest run of the call's pitches an answer may play back


class EchoGuard:
    """The pitches an answer may not play next, so as not to play more than ``limit`` of its call's in a row."""

    def __init__(self, call_pitches, limit: int = ECHO_LIMIT) -> None:
        if limit < 1:
            raise ValueError(f"an answer must be allowed at least one of the call's pitches in a row, got {limit}")
        self.limit = limit
        self._call = np.asarray(list(call_pitches), dtype=np.intp)
        self._runs = np.zeros(self._call.size, dtype=np.intp)  # matched run ending at each call pitch
        self.barred = self._call[:0]

    def hear(self, pitch: int) -> None:
        """The answer played ``pitch`` (model space, like the call's)."""
        if not self._call.size:
            return
        before = np.concatenate(([0], self._runs[:-1]))
        self._runs = np.where(self._call == pitch, before + 1, 0)
        barred = self._call[1:][self._runs[:-1] >= self.limit]
        # a call pitch outside the piano is one no answer plays: nothing to bar
        self.barred = np.unique(barred[(barred >= codec.PITCH_LOW) & (barred <= codec.PITCH_HIGH)])
