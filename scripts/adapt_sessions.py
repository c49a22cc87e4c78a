"""Does learning the player during a session help? Simulated sessions on pieces the preset never learned.

Each held-out piece is played as a sequence of 2-bar phrases. Before phrase k+1 the companion has
learned phrases 1..k; its LSTM state is primed as a live re-prime primes it (the last 64 tokens
before the phrase). Measured, in nats per token as the sampler draws (grammar mask, temperature 1):

- the loss of phrase k+1 without adaptation (the LSTM alone) and with each way of learning:
  the session n-gram (``livegen.model.session_model``) at several ``adapt`` weights and escapes, a token
  cache (unigram counts that fade with age), and dynamic evaluation (gradient steps on the output
  layer after each phrase, off the real-time path);
- a control: the n-gram after learning as many phrases of a *different* piece of the same set;
- copying: answers sampled at the play defaults after phrase k, and how long a run of pitches they
  copy from phrases 1..k (and how many bars verbatim), beside what the real phrase k+1 copies.

Per piece, the perplexity ratio exp(loss_adapted - loss_lstm) over its phrases 2..n; the table gives
the mean reduction 1 - ratio over pieces with a 95% bootstrap interval (pieces resampled).

``--sets dev`` chose the default adapt and escape (``choose_default`` says by which rule) and the
alternatives' settings; ``--sets test`` (other pieces, and string quartets, a style dev never saw)
reports. From the repository root (music21 must be installed: the ``[train]`` extra)::

    OMP_NUM_THREADS=1 python scripts/adapt_sessions.py --sets dev --copy-seeds 2 --json out/adapt-dev.json
    OMP_NUM_THREADS=1 python scripts/adapt_sessions.py --sets test --escapes 4 --decays 0.995 --rates 0.3 \
        --copy-seeds 2 --json out/adapt-test.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from livegen.evaluate.cutting import Call
from livegen.evaluate.metrics import answer_metrics, reference_index
from livegen.model import preset as presets
from livegen.model.session_model import (DEFAULT_ADAPT, ESCAPE, ORDERS, SessionModel, counted, extended_by,
                                          extended_by_all)
from livegen.model.runtime import StepModel
from livegen.model.sampling import Blend, GrammarMask, Sampler, SamplingConfig, mix
from livegen.music import codec, voices
from livegen.music.hearing import hearing
from livegen.music.key import estimate_key
from livegen.music.midifile import Piece, assemble_piece

PHRASE_BARS = 2
REPRIME_TOKENS = 64  # as livegen.live.engine.priming re-primes
SCORING = SamplingConfig(max_polyphony=16)  # the grammar alone: every real token allowed
ANSWERING = SamplingConfig(temperature=0.9, top_p=0.95)  # livegen play's defaults
MIN_PHRASES = 3
# Bars of three or four beats only: the meters the chorale preset learned, and that a live session
# plays in. In bars of 8 beats (4/2) or 2 (2/4) the LSTM does not know where the bar ends, and
# learning the bar line alone would pass for learning the player.
BAR_TICKS = (3 * codec.TICKS_PER_BEAT, 4 * codec.TICKS_PER_BEAT)
BOOTSTRAP = 2000

# Which pieces: (group, corpus folder, files, tunes taken from each file). None of these styles is
# in a bundled preset (chorale: Bach; folk: O'Neill and Ryan; renaissance: Palestrina, Monteverdi).
SETS = {
    "dev": [("folk (Essen)", "essenFolksong", ["altdeu10.abc", "ballad10.abc"], 60),
            ("trecento", "trecento", slice(0, 30), 1)],
    "test": [("folk (Essen)", "essenFolksong", ["erk10.abc", "boehme10.abc", "kinder0.abc", "zuccal0.abc"], 60),
             ("trecento", "trecento", slice(30, None), 1),
             ("string quartets (Haydn, Mozart)", None, ["haydn/opus1no1", "haydn/opus74no1", "mozart/k80",
                                                        "mozart/k155", "mozart/k156", "mozart/k458"], 1)],
}


# -- pieces ---------------------------------------------------------------------------------------
def corpus_files(folder, files) -> list[Path]:
    import music21

    corpus = Path(music21.__file__).parent / "corpus"
    if folder is None:  # quartets: every movement of each work
        return [path for work in files for path in sorted((corpus / work).glob("*.mxl"))]
    if isinstance(files, slice):
        return sorted((corpus / folder).glob("*.xml"))[files]
    return [corpus / folder / name for name in files]


def parse(path: Path, tunes: int) -> list[tuple[str, Piece]]:
    """Up to ``tunes`` pieces from a notation file (an ABC file holds many), through music21."""
    from music21 import converter, stream

    from livegen.training.midi_folder import piece_from_score

    score = converter.parse(str(path), forceSource=True, storePickle=False)
    scores = list(score.scores)[:tunes] if isinstance(score, stream.Opus) else [score]
    pieces = []
    for number, one in enumerate(scores):
        try:
            pieces.append((f"{path.stem}#{number}", piece_from_score(one)))
        except Exception as error:  # a tune music21 cannot make sense of is passed over, with why
            print(f"  {path.name} #{number} passed over: {error}", file=sys.stderr)
    return pieces


def cached_pieces(path: Path, tunes: int, cache: Path) -> list[tuple[str, Piece]]:
    """``parse``, kept as JSON under ``cache`` (music21 takes ~20 s for an ABC file of 600 tunes)."""
    entry = cache / f"{path.parent.name}-{path.stem}-{tunes}.json"
    if not entry.exists():
        data = [{"name": name, "notes": [[n.onset, n.pitch, n.velocity, n.duration] for n in piece.notes], "meter": list(piece.meter.changes)}
                for name, piece in parse(path, tunes)]
        cache.mkdir(parents=True, exist_ok=True)
        entry.write_text(json.dumps(data))
    return [(item["name"], assemble_piece(item["notes"], item["meter"], 100.0, ())) for item in
            json.loads(entry.read_text())]


def load_set(name: str, cache: Path, limit: int | None = None) -> list[tuple[str, list[tuple[str, Piece]]]]:
    """Each group's pieces in bars of three or four beats; with ``limit``, a group's files are read only
    until ``limit`` pieces are found (its first ``limit`` pieces are the same)."""
    groups = []
    for group, folder, files, tunes in SETS[name]:
        pieces = []
        for path in corpus_files(folder, files):
            if limit is not None and 0 <= limit <= len(pieces):
                break
            pieces += [(title, piece) for title, piece in cached_pieces(path, tunes, cache)
                       if all(ticks in BAR_TICKS for _, ticks in piece.meter.changes)]
        groups.append((group, pieces))
    return groups


# -- a piece as the preset hears it, phrase by phrase ---------------------------------------------
class Session:
    """A piece in the preset's key: its tokens, its phrases, and the LSTM's view of each phrase."""

    def __init__(self, name: str, piece: Piece, model: StepModel, key_mode: str) -> None:
        self.name = name
        how = hearing(key_mode, piece.notes)
        self.notes = how.notes(piece.notes)
        self.meter = piece.meter
        self.bar_token = how.bar_token
        self.tokens = codec.encode(self.notes, self.meter, bar_token=how.bar_token)
        bars = [index for index, token in enumerate(self.tokens) if token in codec.BARS]
        self.bounds = [(bars[i], bars[i + PHRASE_BARS] if i + PHRASE_BARS < len(bars) else len(self.tokens))
                       for i in range(0, len(bars), PHRASE_BARS)]
        self._read(model)

    def _read(self, model: StepModel) -> None:
        """For every token: the allowed tokens, the LSTM's last hidden layer before it; per phrase: the
        primed state and the cursor before its first token."""
        mask = GrammarMask(SCORING)
        cursor = codec.Cursor(self.meter, self.bar_token)
        self.allowed, self.hidden, self.starts = [], [], []
        for start, end in self.bounds:
            state = self._primed(model, start)
            self.starts.append((state.copy(), cursor.copy()))
            for token in self.tokens[start:end]:
                self.allowed.append(mask.allowed(cursor).nonzero()[0])
                self.hidden.append(state.hidden[-1].copy())
                cursor.advance(token)
                model.step(token, state, model.voices_after(cursor))
        self.hidden = np.array(self.hidden, dtype=np.float64)

    def _primed(self, model: StepModel, start: int):
        state = model.initial_state()
        if start:
            tail = codec.tail(self.tokens[:start], REPRIME_TOKENS)
            heard = voices.read(tail, codec.Cursor(self.meter, tail[0])) if model.hears_voices else None
            model.feed(tail, state, heard)
        return state

    def phrase_notes(self, phrase: int) -> list[codec.Note]:
        first = self.meter.bar_start(phrase * PHRASE_BARS)
        end = self.meter.bar_start((phrase + 1) * PHRASE_BARS)
        return [note for note in self.notes if first <= note.onset < end]


# -- ways of learning -----------------------------------------------------------------------------
def masked_nats(scores: np.ndarray, allowed: np.ndarray, target: int) -> float:
    """-log p(target) under softmax(scores) over the allowed tokens (as the sampler draws at temperature 1)."""
    values = scores[allowed]
    top = values.max()
    return float(top + math.log(np.exp(values - top).sum()) - scores[target])


def context_before(session: Session, position: int):
    """What the session model reads before the token at ``position``: the stream's last tokens."""
    return extended_by_all((), session.tokens[max(0, position - 4 * ORDERS):position])


class Learner:
    """The LSTM alone: learns nothing. Subclasses learn each phrase once it is over."""

    def __init__(self, weights: dict) -> None:
        self.weights = weights
        self.dense = np.asarray(weights["dense_kernel"], dtype=np.float64)
        self.bias = np.asarray(weights["dense_bias"], dtype=np.float64)

    def learn(self, source: Session, phrase: int) -> None:
        """Learn phrase ``phrase`` of ``source`` (the piece itself, or another piece for the control)."""

    def losses(self, session: Session, phrase: int) -> list[float]:
        """The loss of each token of phrase ``phrase``, after what was learned so far."""
        start, end = session.bounds[phrase]
        logits = session.hidden[start:end] @ self.dense + self.bias
        context = context_before(session, start)
        losses = []
        for offset, position in enumerate(range(start, end)):
            token = session.tokens[position]
            blend = self.blend(context, session.bar_token)
            scores = logits[offset] if blend is None else mix(logits[offset], blend)
            losses.append(masked_nats(scores, session.allowed[position], token))
            context = extended_by(context, token)
        return losses

    def blend(self, context, bar_token: int) -> Blend | None:
        """What is mixed into the LSTM's distribution after ``context``."""
        return None

    def step_model(self, model: StepModel) -> StepModel:
        """The model answers are sampled from."""
        return model


class Ngram(Learner):
    """The session n-gram (livegen.model.session_model), mixed in at ``adapt`` times its confidence."""

    def __init__(self, weights: dict, adapt: float, escape: float) -> None:
        super().__init__(weights)
        self.adapt = adapt
        self.model = SessionModel(escape)

    def learn(self, source: Session, phrase: int) -> None:
        start, end = source.bounds[phrase]
        context = context_before(source, start)
        for token in source.tokens[start:end]:
            self.model.learn(context, token)
            context = extended_by(context, token)

    def blend(self, context, bar_token: int) -> Blend | None:
        return self.model.blend(context, self.adapt, bar_token)


class Cache(Learner):
    """A token cache: the player's tokens (velocities left out), each fading by ``decay`` per token after,
    mixed in at ``adapt`` times the Witten-Bell confidence of its counts (n / (n + different tokens))."""

    def __init__(self, weights: dict, adapt: float, decay: float) -> None:
        super().__init__(weights)
        self.adapt, self.decay = adapt, decay
        self.counts = np.zeros(codec.MODAL_VOCAB_SIZE)

    def learn(self, source: Session, phrase: int) -> None:
        start, end = source.bounds[phrase]
        for token in source.tokens[start:end]:
            if (token := counted(token)) is not None:
                self.counts *= self.decay
                self.counts[token] += 1.0

    def blend(self, context, bar_token: int) -> Blend | None:
        seen = self.counts.nonzero()[0]
        if not seen.size:
            return None
        total = self.counts[seen].sum()
        tokens = np.where(seen == codec.BAR, bar_token, seen)
        return Blend(tokens, self.counts[seen] / total, self.adapt * total / (total + seen.size))


class DynamicEvaluation(Learner):
    """Gradient steps on the output layer after each phrase (``epochs`` over it at ``rate``), off the live path."""

    def __init__(self, weights: dict, rate: float, epochs: int) -> None:
        super().__init__(weights)
        self.rate, self.epochs = rate, epochs
        self.dense, self.bias = self.dense.copy(), self.bias.copy()

    def learn(self, source: Session, phrase: int) -> None:
        start, end = source.bounds[phrase]
        hidden, targets = source.hidden[start:end], np.asarray(source.tokens[start:end])
        for _ in range(self.epochs):
            logits = hidden @ self.dense + self.bias
            logits -= logits.max(axis=1, keepdims=True)
            gradient = np.exp(logits)
            gradient /= gradient.sum(axis=1, keepdims=True)
            gradient[np.arange(len(targets)), targets] -= 1.0
            self.dense -= self.rate * hidden.T @ gradient / len(targets)
            self.bias -= self.rate * gradient.mean(axis=0)

    def step_model(self, model: StepModel) -> StepModel:
        return StepModel({**self.weights, "dense_kernel": self.dense.astype(np.float32),
                          "dense_bias": self.bias.astype(np.float32)})


# -- a simulated session --------------------------------------------------------------------------
def answer(model: StepModel, session: Session, phrase: int, learner: Learner, seed: int) -> list[codec.Note]:
    """Two bars sampled at the play defaults from the state primed before ``phrase``, as ``learner`` has it."""
    state, cursor = session.starts[phrase]
    state, cursor = state.copy(), cursor.copy()
    context = context_before(session, session.bounds[phrase][0])
    sampler = Sampler(ANSWERING, seed=seed)
    last_bar = cursor.bar + PHRASE_BARS
    notes = []
    while True:
        token = sampler.choose(state.logits, cursor, blend=learner.blend(context, session.bar_token))
        if token == cursor.bar_token and cursor.bar + 1 > last_bar:
            return notes
        note = cursor.advance(token)
        if note is not None:
            notes.append(note)
        model.step(token, state, model.voices_after(cursor))
        context = extended_by(context, token)


def copied(session: Session, phrase: int, notes) -> tuple[int, int] | None:
    """The longest run of pitches ``notes`` copy from the phrases before ``phrase``, and the bars they copy
    verbatim (livegen.evaluate's echo and copied bars); None before there are three notes to copy, or
    where the real phrase is a rest (nothing to compare with)."""
    heard = [note for before in range(phrase) for note in session.phrase_notes(before)]
    if len(heard) < 3 or not session.phrase_notes(phrase):
        return None
    first_bar = phrase * PHRASE_BARS
    call = Call(session.name, tuple(heard), tuple(session.phrase_notes(phrase)), tuple(heard), session.meter,
                first_bar)
    found = answer_metrics(notes, first_bar, call, estimate_key(heard), PHRASE_BARS,
                           reference_index([(heard, session.meter)]), 0)
    return found["echo"], found["copied_bars"]


def simulate(make, model: StepModel, session: Session, teacher: Session | None = None,
             answers: int = 0) -> tuple[float, list]:
    """Phrase by phrase: score phrase k+1 after learning phrases 1..k (of ``teacher``, if given), and
    sample ``answers`` answers before it; the mean loss over phrases 2..n and what the answers copied."""
    learner, source = make(), teacher or session
    losses, copies = [], []
    for phrase in range(len(session.bounds)):
        if phrase:
            losses += learner.losses(session, phrase)
            if answers and copied(session, phrase, session.phrase_notes(phrase)) is not None:  # as real phrases
                sampler_model = learner.step_model(model)
                copies += [copied(session, phrase, answer(sampler_model, session, phrase, learner, seed))
                           for seed in range(answers)]
        if phrase < len(source.bounds):
            learner.learn(source, phrase)
    return float(np.mean(losses)), copies


def real_copies(session: Session) -> list:
    """What each real phrase 2..n copies from the phrases before it."""
    return [found for phrase in range(1, len(session.bounds))
            if (found := copied(session, phrase, session.phrase_notes(phrase))) is not None]


# -- summaries ------------------------------------------------------------------------------------
def reduction(base: np.ndarray, other: np.ndarray, rng) -> dict:
    """Mean perplexity reduction over pieces, 1 - exp(loss difference), with a 95% bootstrap interval."""
    per_piece = 1.0 - np.exp(other - base)
    draws = rng.integers(0, len(per_piece), size=(BOOTSTRAP, len(per_piece)))
    means = per_piece[draws].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {"mean": float(per_piece.mean()), "low": float(low), "high": float(high)}


def copy_summary(found: list) -> dict:
    runs, bars = [row[0] for row in found], [row[1] for row in found]
    return {"echo_mean": float(np.mean(runs)), "echo_max": int(max(runs)), "copied_bars_mean": float(np.mean(bars)),
            "copied_bars_max": int(max(bars)), "answers": len(found)}


def ways(weights: dict, args) -> dict:
    """name -> (a fresh learner, whether its answers are checked for copying, whether it gets a control)."""
    found = {"LSTM alone (adapt 0)": (lambda: Learner(weights), True, False)}
    for escape in args.escapes:
        for adapt in args.adapts:
            chosen = (adapt, escape) == tuple(args.ngram)
            found[f"n-gram adapt {adapt:g} escape {escape:g}"] = (
                lambda adapt=adapt, escape=escape: Ngram(weights, adapt, escape), True, chosen)
    for adapt in args.adapts:
        for decay in args.decays:
            chosen = (adapt, decay) == tuple(args.cache)
            found[f"token cache adapt {adapt:g} decay {decay:g}"] = (
                lambda adapt=adapt, decay=decay: Cache(weights, adapt, decay), chosen, chosen)
    for rate in args.rates:
        chosen = rate == args.dynamic
        found[f"dynamic evaluation rate {rate:g}, {args.epochs} steps"] = (
            lambda rate=rate: DynamicEvaluation(weights, rate, args.epochs), chosen, chosen)
    return found


def measure_group(sessions: list[Session], model: StepModel, found: dict, args) -> tuple[dict, dict, dict, list]:
    """Every way's loss per piece, the controls' per piece, and what answers and real phrases copied."""
    losses = {name: [] for name in found}
    controls = {name: [] for name, (_, _, control) in found.items() if control}
    copies = {name: [] for name, (_, check, _) in found.items() if check}
    real = []
    for number, session in enumerate(sessions):
        teacher = sessions[(number + 1) % len(sessions)]  # another piece of the same set
        real += real_copies(session)
        for name, (make, check, control) in found.items():
            loss, answers = simulate(make, model, session, answers=args.copy_seeds if check else 0)
            losses[name].append(loss)
            if check:
                copies[name] += answers
            if control:
                controls[name].append(simulate(make, model, session, teacher)[0])
    return losses, controls, copies, real


def summarise(losses: dict, controls: dict, copies: dict, real: list, rng) -> dict:
    base = np.array(next(iter(losses.values())))
    rows = {"pieces": len(base), "lstm_nats": float(base.mean()), "ways": {}, "controls": {}, "copying": {},
            "paired": {}}
    for name, values in losses.items():
        rows["ways"][name] = {"nats": float(np.mean(values)), **reduction(base, np.array(values), rng)}
    for name, values in controls.items():
        rows["controls"][name] = {"nats": float(np.mean(values)), **reduction(base, np.array(values), rng)}
    # The default n-gram against each alternative on the same pieces: its perplexity reduction over theirs.
    default = next(name for name in controls if name.startswith("n-gram"))
    rows["paired"] = {name: reduction(np.array(losses[name]), np.array(losses[default]), rng)
                      for name in controls if name != default}
    if real:
        rows["copying"] = {"real next phrase": copy_summary(real),
                           **{name: copy_summary(found) for name, found in copies.items() if found}}
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", choices=sorted(SETS), default="dev")
    parser.add_argument("--preset", default="chorale")
    parser.add_argument("--adapts", type=float, nargs="+", default=[0.25, 0.5, 0.75, 1.0])
    parser.add_argument("--escapes", type=float, nargs="+", default=[1.0, 2.0, 4.0, 8.0])
    parser.add_argument("--decays", type=float, nargs="+", default=[0.95, 0.98, 0.995])
    parser.add_argument("--rates", type=float, nargs="+", default=[0.1, 0.2, 0.3, 0.5])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--ngram", type=float, nargs=2, default=[DEFAULT_ADAPT, ESCAPE], metavar=("ADAPT", "ESCAPE"),
                        help="the n-gram that gets the control (learning another piece): livegen's default")
    parser.add_argument("--cache", type=float, nargs=2, default=[1.0, 0.995], metavar=("ADAPT", "DECAY"),
                        help="the token cache that gets the control and the copy check")
    parser.add_argument("--dynamic", type=float, default=0.3, metavar="RATE",
                        help="the dynamic evaluation that gets the control and the copy check")
    parser.add_argument("--copy-seeds", type=int, default=1, help="answers sampled before each phrase")
    parser.add_argument("--limit", type=int, default=None,
                        help="at most this many pieces a group (a quick look: only the files that hold them are read)")
    parser.add_argument("--cache-dir", type=Path, default=Path("out/adapt-sessions-cache"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    adapt, escape = args.ngram
    if adapt not in args.adapts or escape not in args.escapes:
        parser.error(f"--ngram {adapt:g} {escape:g} gets the control, so it must be one of the n-grams measured: "
                     "give its adapt in --adapts and its escape in --escapes")

    loaded = presets.load(args.preset)
    model = StepModel(loaded.weights)
    rng = np.random.default_rng(0)
    found = ways(loaded.weights, args)
    results = {"preset": args.preset, "sets": args.sets, "groups": {}}
    pooled = ({name: [] for name in found}, {}, {}, [])
    for group, pieces in load_set(args.sets, args.cache_dir, args.limit):
        started = time.time()
        sessions = [Session(name, piece, model, loaded.key_mode) for name, piece in pieces[:args.limit]]
        sessions = [s for s in sessions if len(s.bounds) >= MIN_PHRASES]
        measured = measure_group(sessions, model, found, args)
        results["groups"][group] = {**summarise(*measured, rng), "tokens": sum(len(s.tokens) for s in sessions)}
        for everything, part in zip(pooled, measured):
            if isinstance(part, dict):
                for name, values in part.items():
                    everything.setdefault(name, []).extend(values)
            else:
                everything.extend(part)
        print(f"{group}: {len(sessions)} pieces, {time.time() - started:.0f} s", file=sys.stderr)
    results["all pieces"] = {**summarise(*pooled, rng), "tokens": sum(g["tokens"] for g in results["groups"].values())}
    results["default"] = choose_default(results)
    print(report(results))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


def choose_default(results: dict) -> dict:
    """The rule that picks the default: of the n-grams whose answers copy no more from the session than the
    real next phrases copy from theirs (mean pitch run and mean bars verbatim, in every group), the one
    with the largest mean perplexity reduction over all pieces."""
    fair = []
    for name, row in results["all pieces"]["ways"].items():
        if not name.startswith("n-gram"):
            continue
        checks = [group["copying"] for group in results["groups"].values()]
        if all(name in copying and copying[name]["echo_mean"] <= copying["real next phrase"]["echo_mean"] and
               copying[name]["copied_bars_mean"] <= copying["real next phrase"]["copied_bars_mean"]
               for copying in checks):
            fair.append((row["mean"], name))
    return {"rule": choose_default.__doc__.split(": ", 1)[1].replace("\n    ", " "),
            "chosen": max(fair)[1] if fair else None}


def report(results: dict) -> str:
    lines = []
    for group, rows in [*results["groups"].items(), ("all pieces", results["all pieces"])]:
        lines.append(f"\n{group}: {rows['pieces']} pieces, {rows['tokens']} tokens; "
                     f"LSTM alone {rows['lstm_nats']:.3f} nats/token")
        lines.append("| way | nats/token | perplexity reduction (mean over pieces, 95% CI) |")
        lines.append("|---|---:|---|")
        for name, row in [*rows["ways"].items(),
                          *((f"control: {name}, learning another piece", row) for name, row in rows["controls"].items())]:
            lines.append(f"| {name} | {row['nats']:.3f} | {100 * row['mean']:+.1f}% "
                         f"[{100 * row['low']:+.1f}, {100 * row['high']:+.1f}] |")
        for name, row in rows["paired"].items():
            lines.append(f"| the default n-gram against {name}, piece by piece | | {100 * row['mean']:+.1f}% "
                         f"[{100 * row['low']:+.1f}, {100 * row['high']:+.1f}] |")
        lines.append("| copied from the phrases before | pitch run mean / max | bars verbatim mean / max |")
        lines.append("|---|---:|---:|")
        for name, row in rows["copying"].items():
            lines.append(f"| {name} | {row['echo_mean']:.2f} / {row['echo_max']} | "
                         f"{row['copied_bars_mean']:.2f} / {row['copied_bars_max']} |")
    lines.append(f"\ndefault, by the rule ({results['default']['rule']}): {results['default']['chosen']}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
