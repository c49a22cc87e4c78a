"""Experiment: does telling the LSTM what still sounds make its answers move like the style?

Two models on the same data, split and budget, differing only in their input: ``plain`` sees the
token alone (the shipped representation); ``sounding`` also sees, at every step, which pitches
sound at the current onset and which the previous onset struck (two 88-wide multi-hot vectors,
projected and added to the token's embedding). The vocabulary is the same, so held-out loss per
token compares directly. Both answer the same held-out calls (2-bar call, 8-bar answer, cut
every 4 bars), and the style test of :mod:`livegen.evaluate.style` judges them against the real
continuations.

Run: ``python scripts/sounding_experiment.py chorale --variant sounding --epochs 8``; the export of
the style's pieces (``python -m training.bundled``'s cache) must exist. Writes
``OUT/STYLE-VARIANT.json`` and the best weights ``OUT/STYLE-VARIANT.npz``. After every epoch the
model (with its optimizer) and the log are saved in ``OUT``: run the same command again to go on
from there.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from livegen.atomic import atomic_write, replacing
from livegen.evaluate.cutting import cut_windows
from livegen.evaluate.features import Excerpt
from livegen.evaluate.style import style_test
from livegen.model.sampling import Sampler, SamplingConfig
from livegen.music import codec
from livegen.music.midifile import read_midi

PITCHES = codec.PITCH_HIGH - codec.PITCH_LOW + 1
CONTEXT = 2 * PITCHES


class Context:
    """Walks a token stream and says, after each token, what sounds now and what the last onset struck."""

    def __init__(self, meter: codec.Meter, bar_token: int = codec.BAR) -> None:
        self.cursor = codec.Cursor(meter, bar_token)
        self.previous: tuple[int, ...] = ()
        self.current: list[int] = []

    def advance(self, token: int):
        note = self.cursor.advance(token)
        if codec.POSITION_BASE <= token < codec.PITCH_BASE:
            if self.current:
                self.previous = tuple(self.current)
            self.current = []
        if note is not None:
            self.current.append(note.pitch)
        return note

    def active(self) -> list[int]:
        onset = self.cursor.onset
        sounding = [pitch - codec.PITCH_LOW for end, pitch in self.cursor.sounding if end > onset]
        return sounding + [PITCHES + pitch - codec.PITCH_LOW for pitch in self.previous]


def stream_context(tokens, meter) -> np.ndarray:
    """The multi-hot context after each token of a stream, ``(len(tokens), CONTEXT)`` uint8."""
    first = int(tokens[0]) if len(tokens) else codec.BAR
    context = Context(meter, first if first in codec.BARS else codec.BAR)
    rows = np.zeros((len(tokens), CONTEXT), dtype=np.uint8)
    for index, token in enumerate(tokens):
        context.advance(int(token))
        rows[index, context.active()] = 1
    return rows


def load_streams(folder: Path, key_mode: str):
    from training.dataset import piece_streams

    items = []
    for path in sorted(folder.glob("*.mid")):
        piece = read_midi(path)
        streams, _ = piece_streams(piece, key_mode, 0)
        for tokens in streams:
            items.append((path, tokens, piece.meter))
    return items


def windows(items, seq_len: int, with_context: bool):
    xs, cs, ys = [], [], []
    for _, tokens, meter in items:
        tokens = np.asarray(tokens, dtype=np.int32)
        context = stream_context(tokens, meter) if with_context else None
        for start in range(0, max(1, len(tokens) - 1), seq_len):
            piece_x = tokens[start:start + seq_len]
            piece_y = tokens[start + 1:start + seq_len + 1]
            if len(piece_y) < 2:
                continue
            length = len(piece_y)
            x = np.zeros(seq_len, np.int32)
            y = np.zeros(seq_len, np.int32)
            x[:length], y[:length] = piece_x[:length], piece_y
            xs.append(x)
            ys.append(y)
            if with_context:
                c = np.zeros((seq_len, CONTEXT), np.uint8)
                c[:length] = context[start:start + length]
                cs.append(c)
    return np.array(xs), (np.array(cs) if with_context else None), np.array(ys)


def build(vocab: int, embedding: int, hidden: int, layers: int, dropout: float, with_context: bool):
    import keras

    tokens = keras.Input((None,), dtype="int32", name="tokens")
    inputs = [tokens]
    values = keras.layers.Embedding(vocab, embedding, name="embedding")(tokens)
    if with_context:
        context = keras.Input((None, CONTEXT), dtype="float32", name="context")
        inputs.append(context)
        values = values + keras.layers.Dense(embedding, use_bias=False, name="context_projection")(context)
    for layer in range(layers):
        values = keras.layers.LSTM(hidden, return_sequences=True, dropout=dropout, name=f"lstm{layer}")(values)
    logits = keras.layers.Dense(vocab, name="dense")(values)
    return keras.Model(inputs, logits)


def masked_loss(y_true, logits):
    import keras

    loss = keras.losses.sparse_categorical_crossentropy(y_true, logits, from_logits=True)
    mask = keras.ops.cast(keras.ops.not_equal(y_true, codec.PAD), "float32")
    return keras.ops.sum(loss * mask) / keras.ops.maximum(keras.ops.sum(mask), 1.0)


class NumpyModel:
    """The trained model stepped token by token in numpy, the context added to the embedding."""

    def __init__(self, weights: dict) -> None:
        self.w = weights
        self.layers = sum(1 for name in weights if name.endswith("_recurrent"))

    def initial(self):
        hidden = self.w["lstm0_recurrent"].shape[0]
        return [np.zeros(hidden, np.float32) for _ in range(self.layers)], [np.zeros(hidden, np.float32) for _ in range(self.layers)]

    def step(self, token: int, active, state) -> np.ndarray:
        hs, cs = state
        x = self.w["embedding"][token]
        if "context_projection" in self.w and active:
            x = x + self.w["context_projection"][active].sum(axis=0)
        for layer in range(self.layers):
            gates = x @ self.w[f"lstm{layer}_kernel"] + hs[layer] @ self.w[f"lstm{layer}_recurrent"] + self.w[f"lstm{layer}_bias"]
            i, f, g, o = np.split(gates, 4)
            sigmoid = lambda v: 1.0 / (1.0 + np.exp(-v))
            cs[layer] = sigmoid(f) * cs[layer] + sigmoid(i) * np.tanh(g)
            hs[layer] = sigmoid(o) * np.tanh(cs[layer])
            x = hs[layer]
        return x @ self.w["dense_kernel"] + self.w["dense_bias"]


def answer(model: NumpyModel, key_mode: str, call, meter: codec.Meter, bars: int, sampler: Sampler):
    """Continue ``call`` for ``bars`` bars, as :func:`livegen.model.generate.continue_notes` does."""
    from livegen.music.hearing import hear

    heard = hear(key_mode, call, meter)
    shift, tokens = heard.hearing.shift, heard.tokens
    context = Context(meter, tokens[0])
    state = model.initial()
    logits = None
    for token in tokens:
        context.advance(token)
        logits = model.step(token, context.active(), state)
    last_bar = context.cursor.bar + bars
    notes = []
    while True:
        token = sampler.choose(logits, context.cursor)
        if token == context.cursor.bar_token and context.cursor.bar + 1 > last_bar:
            break
        note = context.advance(token)
        if note is not None:
            notes.append(note)
        logits = model.step(token, context.active(), state)
    return codec.transpose(notes, -shift) if shift else notes, last_bar


def judge(model: NumpyModel, key_mode: str, held_out: list[Path], seeds: int) -> dict:
    answers, real = [], []
    for path in held_out:
        piece = read_midi(path)
        for call, excerpt in cut_windows(path.stem, piece, 2, 8, 4):
            real.append(excerpt)
            meter = codec.Meter(((0, excerpt.bar_ticks),))
            for seed in range(seeds):
                notes, last_bar = answer(model, key_mode, list(call), meter, 8,
                                         Sampler(SamplingConfig(temperature=0.95, top_p=0.95), seed=seed))
                answers.append(Excerpt(tuple(notes), call, (last_bar - 7) * excerpt.bar_ticks, 8,
                                       excerpt.bar_ticks, path.stem))
    return style_test(answers, real)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("style")
    parser.add_argument("--variant", choices=("plain", "sounding"), required=True)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--key-mode", default="canonical")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("out/sounding"))
    args = parser.parse_args()

    import keras
    from training.bundled import cache_root
    from training.dataset import split_by_file

    keras.utils.set_random_seed(0)
    with_context = args.variant == "sounding"
    items = load_streams(cache_root() / args.style, args.key_mode)
    train_items, val_items = split_by_file(items, 0.1, seed=0)
    val_files = sorted({path for path, _, _ in val_items})
    train = windows(train_items, args.seq_len, with_context)
    val = windows(val_items, args.seq_len, with_context)
    vocab = codec.MODAL_VOCAB_SIZE if args.key_mode == "canonical+mode" else codec.VOCAB_SIZE
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"{args.style}-{args.variant}"
    checkpoint, best_file, log_file = (stem.with_suffix(ending) for ending in (".keras", ".best.npz", ".log.json"))
    if checkpoint.is_file():
        model = keras.models.load_model(checkpoint, custom_objects={"masked_loss": masked_loss})
        log = json.loads(log_file.read_text())
        best_weights = [stored[name] for stored in [np.load(best_file)] for name in sorted(stored.files, key=int)]
        best = min(epoch["val_loss"] for epoch in log["epochs"])
        print(f"going on after epoch {len(log['epochs'])} (best {best:.4f})", flush=True)
    else:
        model = build(vocab, 64, args.hidden, 2, 0.2, with_context)
        model.compile(optimizer=keras.optimizers.Adam(2e-3, clipnorm=1.0), loss=masked_loss)
        log = {"variant": args.variant, "style": args.style, "epochs": [], "train_windows": len(train[0]),
               "val_files": len(val_files)}
        best, best_weights = np.inf, None

    def inputs(split):
        x, c, _ = split
        return [x, c.astype(np.float32)] if with_context else x

    started = time.perf_counter() - (log["epochs"][-1]["seconds"] if log["epochs"] else 0.0)
    for epoch in range(len(log["epochs"]), args.epochs):
        order = np.random.default_rng(epoch).permutation(len(train[0]))
        shuffled = tuple(None if part is None else part[order] for part in train)
        history = model.fit(inputs(shuffled), shuffled[2], batch_size=args.batch, epochs=1, verbose=0)
        val_loss = float(model.evaluate(inputs(val), val[2], batch_size=args.batch, verbose=0))
        log["epochs"].append({"epoch": epoch + 1, "train_loss": float(history.history["loss"][0]),
                              "val_loss": val_loss, "seconds": round(time.perf_counter() - started, 1)})
        print(json.dumps(log["epochs"][-1]), flush=True)
        if val_loss < best:
            best, best_weights = val_loss, [w.copy() for w in model.get_weights()]
            with replacing(best_file, suffix=".npz") as temporary:
                np.savez(temporary, **{str(index): weight for index, weight in enumerate(best_weights)})
        with replacing(checkpoint, suffix=".keras") as temporary:
            model.save(temporary)
        atomic_write(log_file, json.dumps(log, indent=1).encode())
    model.set_weights(best_weights)
    weights = {"embedding": model.get_layer("embedding").get_weights()[0]}
    if with_context:
        weights["context_projection"] = model.get_layer("context_projection").get_weights()[0]
    for layer in range(2):
        kernel, recurrent, bias = model.get_layer(f"lstm{layer}").get_weights()
        weights.update({f"lstm{layer}_kernel": kernel, f"lstm{layer}_recurrent": recurrent, f"lstm{layer}_bias": bias})
    weights["dense_kernel"], weights["dense_bias"] = model.get_layer("dense").get_weights()
    np.savez(stem.with_suffix(".npz"), **weights)
    log["best_val_loss"] = best
    log["style"] = judge(NumpyModel(weights), args.key_mode, val_files, args.seeds)
    stem.with_suffix(".json").write_text(json.dumps(log, indent=1))
    print(json.dumps({k: log["style"][k] for k in ("accuracy", "control_real_vs_real", "control_random_pitches")}))
    print("seconds", round(time.perf_counter() - started))


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
