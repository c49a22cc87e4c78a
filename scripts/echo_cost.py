"""What the echo guard costs a live answer: readiness and per-token sampling, with and without it, interleaved.

The chorale preset answers 2-, 8- and 32-bar calls (``livegen.bench.engine``'s) with 8-bar answers
on a fake clock, twelve times each, once with the guard an answer is given and once without
(its fork's guard left out, which is the sampler's path before the guard). Both draw the same
answers unless a run of the call's pitches reaches the limit, so the token counts match.

Run: ``python scripts/echo_cost.py``.
"""

from __future__ import annotations

import time

import numpy as np

from livegen.bench.engine import _NullSink, play_until_answer
from livegen.live.engine import Companion, CompanionConfig
from livegen.live.engine import answer as answer_module
from livegen.live.engine import fork as fork_module
from livegen.model import preset
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler

CALL_BARS = (2, 8, 32)
REPEATS = 12


def main() -> None:
    model = StepModel(preset.load("chorale").weights)
    model.warm_up()
    guarded = answer_module.Answering._echo_guard
    sample_token = fork_module.Lookahead._token
    current = {"guard": True}
    token_seconds = {True: [], False: []}
    readiness = {(guard, bars): [] for guard in (True, False) for bars in CALL_BARS}

    def timed_token(self, fork, offset):
        started = time.perf_counter()
        note = sample_token(self, fork, offset)
        token_seconds[current["guard"]].append(time.perf_counter() - started)
        return note

    fork_module.Lookahead._token = timed_token
    for repeat in range(REPEATS):
        for guard in (True, False):
            current["guard"] = guard
            answer_module.Answering._echo_guard = guarded if guard else (lambda self, call, shift: None)
            for bars in CALL_BARS:
                config = CompanionConfig(bpm=120, seed_bars=32, max_answer_bars=8, answer_bars=8)
                companion = Companion(model, Sampler(seed=repeat), _NullSink(), config)
                now = play_until_answer(companion, bars, 0.5)
                readiness[(guard, bars)].append(companion.readiness[-1])
                end = now + 8 * 4 * 0.5 + 1
                while now < end:
                    now += 0.01
                    companion.tick(now)
    for guard in (True, False):
        tokens = np.array(token_seconds[guard]) * 1e3
        print(f"{'with' if guard else 'without'} the guard: an answer token median {np.median(tokens):.4f} ms, "
              f"p99 {np.percentile(tokens, 99):.4f} ms over {tokens.size}; readiness "
              + ", ".join(f"{bars} bars {np.median(readiness[(guard, bars)]) * 1e3:.3f} ms" for bars in CALL_BARS))


if __name__ == "__main__":
    main()
