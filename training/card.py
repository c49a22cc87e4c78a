"""A bundled preset's full model card: source and licence, evaluation, a sample answer, how it plays.

Run after training (``python -m livegen.training.bundled NAME --card-only`` redoes it): it recovers the
trainer's validation files (same split, same seed), ships some of them in the preset's
``calls/`` folder so ``livegen eval --preset NAME`` can be rerun anywhere, evaluates the preset
on them against its training pieces, draws and renders a sample answer, and rewrites
``README.md`` as the trainer's card plus these sections.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from livegen.atomic import atomic_write, write_atomically
from livegen.music import codec

from livegen.model import preset
from livegen.model.echo import ECHO_LIMIT
from livegen.evaluate.calls import CALLS_FOLDER, read_calls
from livegen.evaluate import EvalConfig, evaluate, format_table
from livegen.music.midifile import write_midi
from livegen.render import audio as renderer  # "audio" names the measured sample below
from livegen.render.pianoroll import draw

PARITY_TOLERANCE = 1e-3  # max |logit difference| float16 weights may cost against Keras
KERAS_PARITY = 1e-4  # what tests/test_parity.py proves for the float32 numpy runtime
PARITY_TOKENS = 600
SHIPPED_CALLS = 24  # held-out pieces copied into the preset: enough for 12 usable calls
SAMPLE_TEMPO_BPM = 90.0
LICENCE_WORDS = (
    "The music is public domain (its composers died centuries ago, or the tunes are traditional "
    "and were printed in the 19th century). The encodings come from music21's corpus, whose "
    "`corpus/license.txt` says that they are \"distributed with the permission of the encoders "
    "(and, where needed, the composers or arrangers) and where permitted under United States "
    "copyright law\", that \"some encodings included in the corpus may not be used for commercial "
    "uses or have other restrictions\" (see the licences embedded in individual compositions or "
    "directories), and that, to the best of its authors' knowledge, each piece \"is either out of "
    "copyright in the United States or is licensed for use, though there may be restrictions on "
    "commercial use\". None of the folders used here carries a licence file of its own (the Essen "
    "collection, whose licence allows only non-commercial use, is not used). This preset holds "
    "model weights learned from those encodings, not the encodings; the few held-out pieces in "
    "`calls/` are MIDI renderings of corpus pieces, under the same terms."
)


def complete_card(style, folder: Path, out: Path, config, log, before: Path | None = None) -> Path:
    """Evaluate the trained preset in ``out`` and rewrite its README with everything above.

    ``before``: the folder of the preset this fit replaces; its evaluation goes beside the new
    one in the card, read before anything is written.
    """
    from livegen.training.dataset import split_by_file
    from livegen.training.midi_folder import ingest
    from livegen.training.export import model_card

    folder, out = Path(folder), Path(out)
    earlier = _earlier(before)
    report = ingest(folder, progress=False)
    training_pieces, validation_pieces = split_by_file(report.pieces, config.val_split, config.seed)
    _ship_calls(validation_pieces, training_pieces, out / CALLS_FOLDER)
    storage = compact_weights(out, [piece for _, piece in validation_pieces[:3]], log)
    _describe(out, style)
    loaded = preset.load(str(out))
    log(f"evaluating {out.name} on held-out calls in many keys")
    result = evaluate(loaded, read_calls(out / CALLS_FOLDER), EvalConfig(top_p=loaded.top_p, cadence=loaded.cadence),
                      training_pieces=[(str(path), piece) for path, piece in training_pieces],
                      progress=lambda done, total: log(f"  call {done}/{total} answered"))
    (out / "eval.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    sample = _write_sample(result["example"], out)
    audio = render_check(out / "sample.mid")
    export = json.loads((folder / "export.json").read_text(encoding="utf-8"))
    readme = model_card(loaded.config) + _sections(style, loaded.config, export, result, sample, audio,
                                                   storage) + _against(earlier, loaded.config, result)
    (out / "README.md").write_text(readme, encoding="utf-8")
    log(format_table(result))
    log(f"model card written to {out / 'README.md'}")
    return out


def _earlier(before: Path | None) -> dict | None:
    """What the preset in ``before`` says of itself and its evaluation, if it has both."""
    if before is None:
        return None
    try:
        return {"config": preset.read_config(before),
                "eval": json.loads((before / "eval.json").read_text(encoding="utf-8"))}
    except (OSError, ValueError, preset.PresetError):
        return None  # no earlier preset there, or one from another version: nothing to compare


def _against(earlier: dict | None, config: dict, result: dict) -> str:
    """The card's table of this fit beside the preset it replaces."""
    if earlier is None:
        return ""

    def numbers(preset_config: dict, evaluation: dict) -> list[str]:
        model = preset_config["model"]
        style = evaluation.get("style", {})
        return [
            f"{model['layers']}x{model['hidden']}, " + ("hears voices" if "voices" in model else "tokens only"),
            f"temperature {evaluation['sampling']['temperature']}, top-p {evaluation['sampling']['top_p']}, "
            # an evaluation from before answers could close says nothing of it: they did not
            + ("closing on the tonic chord" if evaluation["sampling"].get("cadence", False) else "no closing chord"),
            f"{preset_config['metrics']['val_loss_per_token']:.3f}",
            f"{style['accuracy']:.3f}" if "accuracy" in style else "not measured",
            f"{evaluation['systems']['model']['key_correlation']:.2f} / {evaluation['systems']['model']['in_scale']:.0%}",
            f"{evaluation['unfamiliar']['key_correlation']:.2f} / {evaluation['unfamiliar']['in_scale']:.0%}",
            f"{evaluation['systems']['model']['notes_per_bar']:.1f}",
        ]

    rows = ("model", "answers sampled at", "held-out loss, validation files (nats/token)", "style test (goal <= 0.70)",
            "key correlation / in scale, held-out calls", "key correlation / in scale, made-up calls",
            "notes a bar")
    lines = [f"| {name} | {old} | {new} |" for name, old, new in
             zip(rows, numbers(earlier["config"], earlier["eval"]), numbers(config, result))]
    return ("\n## Against the preset it replaces\n\n| | before | this fit |\n|---|---|---|\n"
            + "\n".join(lines) + "\n")


def _describe(out: Path, style) -> None:
    """The preset's one-line description (``livegen presets``) names its music, not its folder; and
    the top-p it plays at, and whether its answers close."""
    config = preset.read_config(out)
    model = config["model"]
    config["description"] = f"{style.description}; {model['layers']}-layer {model['hidden']}-unit LSTM"
    config["sampling"] = {"top_p": style.top_p, "cadence": style.cadence}
    atomic_write(out / preset.CONFIG_NAME, (json.dumps(config, indent=2) + "\n").encode("utf-8"))


def compact_weights(out: Path, pieces, log) -> dict:
    """Store ``weights.npz`` as float16 when that moves no logit by more than the tolerance.

    The numpy runtime with float32 weights matches Keras within ``KERAS_PARITY``; float16 weights
    are kept only if they stay within ``PARITY_TOLERANCE - KERAS_PARITY`` of it on held-out music.
    """
    import numpy as np

    from livegen.model.runtime import StepModel
    from livegen.music.hearing import hear

    loaded = preset.load(str(out))
    stored = np.load(out / preset.WEIGHTS_NAME, allow_pickle=False)
    if all(stored[name].dtype == np.float16 for name in stored.files):
        return {"dtype": "float16", "max_logit_difference": None}
    halved = {name: array.astype(np.float16) for name, array in loaded.weights.items()}
    full, half = StepModel(loaded.weights), StepModel({name: array.astype(np.float32)
                                                       for name, array in halved.items()})
    worst = 0.0
    for piece in pieces:
        heard = hear(loaded.key_mode, piece.notes, piece.meter)
        full_state, half_state = full.initial_state(), half.initial_state()
        for token, voices in zip(heard.tokens[:PARITY_TOKENS], heard.voices):
            expected = full.step(token, full_state, voices).copy()
            worst = max(worst, float(np.abs(half.step(token, half_state, voices) - expected).max()))
    if worst + KERAS_PARITY > PARITY_TOLERANCE:
        log(f"weights stay float32: float16 would move logits by up to {worst:.2g}")
        return {"dtype": "float32", "max_logit_difference": worst}
    write_atomically(out / preset.WEIGHTS_NAME, lambda stream: np.savez(stream, **halved))
    preset.load(str(out))
    log(f"weights stored as float16: logits move by at most {worst:.2g}")
    return {"dtype": "float16", "max_logit_difference": worst}


def _ship_calls(validation_pieces, training_pieces, calls_dir: Path) -> None:
    """Copy the first validation files (by name) into the preset, for ``livegen eval``.

    A file whose music is also in a training file (a corpus can hold one piece twice under two
    names) is not held out: it is left out of the calls.
    """
    shutil.rmtree(calls_dir, ignore_errors=True)
    calls_dir.mkdir(parents=True)
    trained = {tuple(piece.notes) for _, piece in training_pieces}
    held_out = {Path(path) for path, piece in validation_pieces if tuple(piece.notes) not in trained}
    for path in sorted(held_out, key=lambda path: path.name)[:SHIPPED_CALLS]:
        shutil.copyfile(path, calls_dir / path.name)


def _notes(rows) -> list[codec.Note]:
    return [codec.Note(*row) for row in rows]


def _write_sample(example: dict, out: Path) -> dict:
    """``sample.mid`` (call, answer) and ``roll.png`` (call, answer, real continuation)."""
    call, answer, real = _notes(example["call"]), _notes(example["answer"]), _notes(example["real"])
    meter = codec.Meter(((0, example["bar_ticks"]),))
    write_midi(out / "sample.mid", [("call", call, 0), ("answer", answer, 1)], meter, SAMPLE_TEMPO_BPM)
    answer_start = example["answer_start"]
    answer_end = max(note.onset for note in real + answer) // example["bar_ticks"] * example["bar_ticks"]
    answer_end += example["bar_ticks"]
    # The real continuation is drawn after the answer, shifted to start where the answer ends.
    shifted_real = codec.rebase(real, answer_start - answer_end)
    picture = draw([("call", call), ("this preset's answer", answer),
                    ("real continuation (drawn after the answer)", shifted_real)], meter,
                   title=f"{example['name']} in {example['key']}: call, this preset's answer, "
                         "then the real continuation",
                   marks=[(answer_start, "answer"), (answer_end, "real continuation")])
    (out / "roll.png").write_bytes(picture)
    return {"name": example["name"], "key": example["key"], "call_notes": len(call),
            "answer_notes": len(answer)}


def render_check(midi_path: Path) -> dict | None:
    """Render with FluidSynth and measure with sox: ``{"seconds", "rms", "peak"}``, or None
    where either program or the General MIDI soundfont is missing."""
    if not (renderer.can_render() and renderer.can_measure()):
        return None
    with tempfile.TemporaryDirectory() as scratch:
        return renderer.measure(renderer.render(midi_path, Path(scratch) / "sample.wav"))


def _sections(style, config: dict, export: dict, result: dict, sample: dict, audio,
              storage: dict) -> str:
    data, training = config["data"], config["training"]
    skipped = "".join(f"\n- `{entry['piece']}`: {entry['reason']}" for entry in export["skipped"][:20])
    if len(export["skipped"]) > 20:
        skipped += f"\n- ... and {len(export['skipped']) - 20} more (see `{style.name}.log`)"
    return f"""
## Source and licence

{style.description}: {style.corpus}, from the music21 package's own corpus (no download).
`python -m livegen.training.bundled {style.name}` exported {export['written']} pieces to MIDI through
`piece_from_score` (pickups kept off the beat), {len(export['skipped'])} could not be read by
music21{':' if skipped else '.'}{skipped}

The trainer used {data['files_used']} files and held out {training['val_split']:.0%} of them for
validation (split by file, seed {training['seed']}); fitting took {training['seconds'] / 60:.1f} minutes
({training['epochs_run']} epochs, the best kept) on a shared two-core CPU.
{_storage_words(storage)}

{LICENCE_WORDS}

## Evaluation: answers to held-out calls in many keys

`livegen eval --preset {style.name}` reruns this from the held-out pieces shipped in `calls/`
(without the training data, the Markov baseline and novelty fall back as it says).

{format_table(result)}

The notebook baseline is the original notebook's way of playing: the likeliest token after the
last 40 tokens, re-predicted from a fresh state at every step, with this preset's weights.

## A sample answer

![piano roll of a sample answer](roll.png)

`sample.mid`: the call from `{sample['name']}` ({sample['call_notes']} notes, in {sample['key']})
and this preset's 8-bar answer ({sample['answer_notes']} notes), temperature {result['sampling']['temperature']}, top-p {result['sampling']['top_p']},
{'closing on the tonic chord' if result['sampling']['cadence'] else 'no closing chord'}, seed 0. The roll shows the real continuation after it, for comparison.

## How it plays

{how_it_plays(result, audio)}
"""


def _storage_words(storage: dict) -> str:
    if storage["max_logit_difference"] is None:
        return "`weights.npz` holds float16 arrays (the runtime computes in float32)."
    return (f"`weights.npz` holds {storage['dtype']} arrays: float16 weights move the logits of "
            f"held-out music by up to {storage['max_logit_difference']:.2g} against float32 "
            f"(kept only if within {PARITY_TOLERANCE - KERAS_PARITY:g}).")


def how_it_plays(result: dict, audio) -> str:
    """A plain account of the measured answers, the targets missed, and the rendering check."""
    model, real = result["systems"]["model"], result["systems"]["real"]
    greedy = result["systems"].get("greedy40")
    sentences = [
        f"Its answers play {model['notes_per_bar']:.1f} notes a bar where the real continuations "
        f"have {real['notes_per_bar']:.1f}, with {model['polyphony']:.1f} notes sounding at once "
        f"on average (real: {real['polyphony']:.1f}).",
        f"They keep the call's key: {model['in_scale']:.0%} of their note time is in its scale "
        f"(real: {real['in_scale']:.0%}) and their pitch profile correlates {model['key_correlation']:.2f} "
        f"with the key's (real: {real['key_correlation']:.2f}), over calls moved to "
        f"{len(result['key_shifts'])} keys.",
        f"{model['on_grid']:.0%} of onsets fall on the sixteenth/triplet grid (real: {real['on_grid']:.0%}); "
        f"{model['long_note_share']:.0%} of note time is in notes longer than 4 beats "
        f"(real: {real['long_note_share']:.0%}).",
        f"The longest run of the call's pitches an answer repeats is {model['echo']:.0f} "
        f"(mean {model['mean_echo']:.1f}; the sampler bars a run longer than {ECHO_LIMIT}; the real "
        f"continuations repeat up to {real['echo']:.0f}), and "
        f"the longest run of bars copied from {result['novelty_reference']} is "
        f"{model['copied_bars']:.0f} (real continuations: {real['copied_bars']:.0f}).",
    ]
    flags = [f"{model[name]:.0%} {words}" for name, words in
             (("silent", "fall silent for 2 bars"), ("one_note", "use at most 2 pitches"),
              ("wall", "are walls of notes")) if model[name] > 0]
    sentences.append("Of its answers, " + ", ".join(flags) + "." if flags
                     else "No answer fell silent for 2 bars, stuck to one or two pitches, or "
                          "turned into a wall of notes.")
    if greedy is not None:
        sentences.append(
            f"The notebook's greedy 40-token player with the same weights plays "
            f"{greedy['notes_per_bar']:.1f} notes a bar, key correlation "
            f"{greedy['key_correlation']:.2f}, longest echo {greedy['echo']:.0f}, and "
            f"{greedy['one_note']:.0%} of its answers use at most 2 pitches.")
    missed = [check["target"] for check in result["targets"] if not check["met"]]
    sentences.append("It misses these targets of its answers: " + "; ".join(missed) + "." if missed
                     else "It meets every target of its answers above.")
    style = result.get("style", {})
    if "accuracy" in style:
        sentences.append(
            f"A classifier on musical features tells its answers from the real continuations "
            f"{style['accuracy']:.0%} of the time (50% is \"cannot tell\"; the goal is at most "
            f"{style['target']:.0%}): {'it passes' if style['met'] else 'it does not pass for the real music yet'}.")
    unfamiliar = result.get("unfamiliar")
    if unfamiliar is not None:
        sentences.append(
            f"Answering made-up calls unlike its training pieces, its key correlation is "
            f"{unfamiliar['key_correlation']:.2f} and {unfamiliar['in_scale']:.0%} of its note time is in the "
            f"call's scale (goals 0.75 and 90%).")
    if audio is None:
        sentences.append("The sample was not rendered to audio (FluidSynth, sox or the GM soundfont missing).")
    else:
        verdict = "it is not silent" if audio["rms"] > 1e-3 else "**it is silent**"
        sentences.append(
            f"Rendered with FluidSynth (FluidR3_GM, piano), `sample.mid` lasts {audio['seconds']:.1f} s "
            f"with RMS amplitude {audio['rms']:.3f} and peak {audio['peak']:.2f}: {verdict}.")
    return " ".join(sentences)
