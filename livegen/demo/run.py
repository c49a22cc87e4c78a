"""``livegen demo``: a bundled call played through a real MIDI port into the companion.

Where no MIDI system runs (a container, CI: no ALSA sequencer, no JACK server), the demo starts
JACK with its dummy driver and stops that server, and only that one, when it is done.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from livegen.music import codec

from livegen.live import jackd, ports
from livegen.live.engine import LISTENING, CompanionConfig
from livegen.live.keyboard import call_events, play_into
from livegen.music.key import Key, estimate_key, in_scale_ratio
from livegen.music.midifile import MidiFileError, Piece, read_midi
from livegen.model.preset import Preset
from livegen.live.recorder import MODEL, PLAYER
from livegen.model.sampling import SamplingConfig
from livegen.live.session import PortsConfig, Session, SessionConfig
from livegen.render import audio

BUNDLED_CALL = Path(__file__).resolve().parent / "phrases" / "call-g-major.mid"  # travels in the package
AUDIO_GAIN = 0.8


@contextlib.contextmanager
def midi_system(backend: str | None, log):
    """The MIDI system there is, or a JACK dummy server started here and stopped on the way out."""
    try:
        choice = ports.select_backend(backend)
    except ports.PortError as missing:
        if backend not in (None, "jack") or shutil.which(jackd.COMMAND[0]) is None:
            raise ports.PortError(f"{missing} (for the demo, install JACK: Debian package jackd2)") from missing
        with jackd.serving(log=log, purpose=" for the demo"):
            yield ports.select_backend("jack")
        return
    yield choice  # the session reports the choice when it opens its ports


@dataclass(frozen=True)
class DemoReport:
    """What happened, in musical terms."""

    call_notes: int
    call_key: Key
    call_bars: int
    bpm: float
    beats_per_bar: int
    answer_notes: int
    answer_in_scale: float
    answer_bars: int
    phrase_end_beat: float
    answer_start_beat: float
    readiness_ms: float | None
    session_file: Path
    audio_file: Path | None
    audio_note: str

    def describe(self) -> str:
        def where(beat):
            bar, within = divmod(beat, self.beats_per_bar)
            return f"bar {int(bar) + 1} beat {within + 1:g}"

        ready = f"{self.readiness_ms:.2f} ms" if self.readiness_ms is not None else "-"
        lines = [
            f"You played {self.call_notes} notes in {self.call_key} over {self.call_bars} bars at {self.bpm:g} bpm.",
            f"The phrase ended at {where(round(self.phrase_end_beat, 2))} (a beat of silence); livegen answered "
            f"from {where(self.answer_start_beat)}, the next beat, with {self.answer_notes} notes over "
            f"{self.answer_bars} bars, {100 * self.answer_in_scale:.0f}% of their time in {self.call_key}.",
            f"Its first note was ready {ready} after the phrase end; the beat, not the model, set when it sounded.",
            f"Session: {self.session_file}",
        ]
        lines.append(f"Audio: {self.audio_file} ({self.audio_note})" if self.audio_file else f"Audio: {self.audio_note}")
        return "\n".join(lines)


def run_demo(preset: Preset, call_path: Path, out_dir: Path, backend: str | None = None, seed: int | None = 1,
             temperature: float = 0.9, log=print) -> DemoReport:
    """Play ``call_path`` into the companion over real ports, let it answer, record and render."""
    piece = read_midi(call_path)
    if not piece.notes:
        raise MidiFileError(f"{call_path} holds no notes to play")
    bpm = piece.tempo_bpm
    beats_per_bar = max(1, piece.meter.changes[0][1] // codec.TICKS_PER_BEAT)
    out_dir.mkdir(parents=True, exist_ok=True)
    session_file = out_dir / "demo-session.mid"
    config = CompanionConfig(bpm=bpm, beats_per_bar=beats_per_bar, key_mode=preset.key_mode)
    with midi_system(backend, log):
        sampling = SamplingConfig(temperature=temperature, top_p=preset.top_p, cadence=preset.cadence)
        session = Session((preset,), config, sampling, PortsConfig(virtual=True, backend=None),
                          SessionConfig(seed=seed, record=session_file), log=log)
        stop = threading.Event()
        try:
            session.open()
            keyboard = ports.open_output(session.input_port.name)
            try:
                log(f"playing {call_path.name} into {session.input_port.name} "
                    f"(the answer comes out of {session.output_ports[0].name})")
                time.sleep(0.3)  # let JACK activate the new connection before the first note
                events = call_events(piece, bpm, time.perf_counter() + 0.2)
                play_into(keyboard, events, stop)
                _wait_for_answer(session, timeout=events[-1][0] - time.perf_counter() + 60)
            finally:
                keyboard.close()
        finally:
            stop.set()
            session.request_stop("demo finished")
            problems = session.close()
    if problems:
        raise OSError("; ".join(problems))
    return _report(session, piece, bpm, session_file, out_dir)


def _wait_for_answer(session: Session, timeout: float) -> None:
    companion = session.companion
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if companion.answered and companion.status == LISTENING:
            time.sleep(0.2)
            return
        if session.reason is not None:
            raise OSError(session.reason)
        time.sleep(0.05)
    raise TimeoutError(f"no answer within {timeout:.0f} s")


def _report(session: Session, piece: Piece, bpm: float, session_file: Path, out_dir: Path) -> DemoReport:
    companion = session.companion
    plan = companion.answered[0]
    call_key = companion.key or estimate_key(piece.notes)
    answer_notes = _answer_notes(session)
    first, last = piece.notes[0].onset, max(n.end for n in piece.notes)
    audio_file, audio_note = render_audio(session_file, out_dir / "demo-session.wav")
    return DemoReport(
        call_notes=session.recorder.count(PLAYER), call_key=call_key,
        call_bars=-(-(last - first) // piece.meter.changes[0][1]), bpm=bpm,
        beats_per_bar=companion.config.beats_per_bar,
        answer_notes=session.recorder.count(MODEL), answer_in_scale=in_scale_ratio(call_key, answer_notes),
        answer_bars=plan.bars, phrase_end_beat=companion.clock.beats_at(plan.phrase_end),
        answer_start_beat=plan.start_tick / codec.TICKS_PER_BEAT,
        readiness_ms=1000 * companion.readiness[0] if companion.readiness else None,
        session_file=session_file, audio_file=audio_file, audio_note=audio_note,
    )


def _answer_notes(session: Session) -> list[codec.Note]:
    """The notes the companion played, with durations in milliseconds (enough for pitch statistics)."""
    notes, started = [], {}
    for at, message in session.recorder.events(MODEL):
        if message.type == "note_on" and message.velocity > 0:
            started[message.note] = (at, message.velocity)
        elif message.type in ("note_on", "note_off") and message.note in started:
            onset, velocity = started.pop(message.note)
            notes.append(codec.Note(0, message.note, velocity, max(1, round(1000 * (at - onset)))))
    return notes


def render_audio(midi_file: Path, wav_file: Path) -> tuple[Path | None, str]:
    """Render with fluidsynth and a General MIDI soundfont, when both are installed."""
    if not audio.can_render():
        return None, "not rendered: install fluidsynth and fluid-soundfont-gm to hear it"
    audio.render(midi_file, wav_file, gain=AUDIO_GAIN)
    if not audio.can_measure():
        return wav_file, "rendered"
    measured = audio.measure(wav_file)
    return wav_file, f"{measured['seconds']:.1f} s, RMS amplitude {measured['rms']:.6f}"
