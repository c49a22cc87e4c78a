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
_NONE = np.zeros(0, dtype=np.intp)  # nothing barred


class EchoGuard:
    """The pitches an answer may not play next, so as not to play more than ``limit`` of its call's in a row."""

    def __init__(self, call_pitches, limit: int = ECHO_LIMIT) -> None:
        if limit < 1:
            raise ValueError(f"an answer must be allowed at least one of the call's pitches in a row, got {limit}")
        self.limit = limit
        self._call = [int(pitch) for pitch in call_pitches]
        self._places: dict[int, list[int]] = {}  # pitch -> where it stands in the call
        for index, pitch in enumerate(self._call):
            self._places.setdefault(pitch, []).append(index)
        self._runs: dict[int, int] = {}  # call index -> the matched run that ends there (only runs going on)
        self.barred = _NONE

    def hear(self, pitch: int) -> None:
        """The answer played ``pitch`` (model space, like the call's)."""
        runs = self._runs
        self._runs = runs = {index: runs.get(index - 1, 0) + 1 for index in self._places.get(pitch, ())}
        call, limit = self._call, self.limit
        # a call pitch outside the piano is one no answer plays: nothing to bar
        barred = {call[index + 1] for index, run in runs.items() if run >= limit and index + 1 < len(call)
                  and codec.PITCH_LOW <= call[index + 1] <= codec.PITCH_HIGH}
        self.barred = np.array(sorted(barred), dtype=np.intp) if barred else _NONE
