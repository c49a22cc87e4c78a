"""The companion's logic on a fake clock: phrase end, answer on the beat, yield, streaming priming."""

import mido
import numpy as np
import pytest

from livegen.music import codec, voices
from livegen.live.engine import ANSWERING, LISTENING, REPRIME_TOKENS, Companion, CompanionConfig
from livegen.music.key import Key
from livegen.model.runtime import StepModel
from livegen.model.sampling import Sampler, SamplingConfig
from tests.fakes import FakeSink
from tests.helpers import Recorder, random_weights
from tests.playing import BEAT, G_MAJOR_CALL, GRID_SECONDS, make, play_call, run_until

@pytest.mark.parametrize("voices", [False, True])
def test_answer_starts_on_the_first_beat_after_the_phrase_end_and_lasts_as_long_as_the_call(voices):
    companion, sink, _ = make(voices=voices)
    start = 10.0
    now = play_call(companion, start, G_MAJOR_CALL)
    last_release = start + 7 * BEAT + 0.8 * BEAT
    assert companion.status != ANSWERING
    now = run_until(companion, now, last_release + BEAT + 0.005)
    assert companion.status == ANSWERING
    phrase_end = companion.phrase_ended_at
    assert last_release + BEAT <= phrase_end < last_release + BEAT + 0.011
    first = min(n.start for n in sink.notes())
    next_beat = start + np.ceil((phrase_end - start) / BEAT) * BEAT
    assert first == pytest.approx(next_beat, abs=1e-9)
    run_until(companion, now, next_beat + 2 * 4 * BEAT + 0.05)
    assert companion.status == LISTENING
    notes = sink.notes()
    assert notes, "the answer plays notes"
    assert max(n.end for n in notes) <= next_beat + 8 * BEAT + 1e-9
    for note in notes:
        ticks = (note.start - start) / BEAT * 12
        assert ticks == pytest.approx(round(ticks), abs=1e-6), "answer onsets sit on the 1/12-beat grid"
        assert note.end > note.start


@pytest.mark.parametrize("hears_voices", [False, True])
def test_streaming_priming_equals_encoding_the_whole_call_at_once(hears_voices):
    companion, sink, model = make(CompanionConfig(key_mode="canonical"), voices=hears_voices)
    start = 3.0
    now = play_call(companion, start, G_MAJOR_CALL)
    # just before the phrase end: every note has been released and encoded already
    run_until(companion, now, start + 7.8 * BEAT + 0.9 * BEAT)
    assert companion.status != ANSWERING and not companion.performance.waiting
    assert companion.key == Key(7, "major")
    shift = companion.key.to_canonical()
    call = [codec.Note(i * 12, codec.transpose_pitch(p, shift), 90, round(0.8 * 12))
            for i, p in enumerate(G_MAJOR_CALL)]
    state = model.initial_state()
    tokens = codec.encode(call)
    expected = model.feed(tokens, state, voices.read(tokens, codec.Cursor())).copy()
    assert np.allclose(companion.priming.state.logits, expected, atol=1e-5)
    if hears_voices:  # the voices count: without them the state would differ
        deaf = model.feed(tokens, model.initial_state(), np.full((len(tokens), voices.WIDTH), voices.PAD))
        assert not np.allclose(companion.priming.state.logits, deaf, atol=1e-3)


def test_the_player_interrupting_an_answer_silences_it():
    companion, sink, _ = make(CompanionConfig(answer_bars=4))
    now = play_call(companion, 0.0, G_MAJOR_CALL)
    now = run_until(companion, now, 6.0)
    assert companion.status == ANSWERING
    tag = companion.answer.tag
    companion.hear(mido.Message("note_on", note=60, velocity=80), now)
    assert sink.cancelled == [tag]
    assert companion.answer is None
    run_until(companion, now, now + 2.0)
    assert all(n.start <= now for n in sink.notes(tag)), "nothing new is booked for a cancelled answer"


def test_no_yield_lets_the_answer_play_on():
    companion, sink, _ = make(CompanionConfig(answer_bars=4, yield_to_player=False))
    now = play_call(companion, 0.0, G_MAJOR_CALL)
    now = run_until(companion, now, 6.0)
    companion.hear(mido.Message("note_on", note=60, velocity=80), now)
    assert companion.status == ANSWERING and sink.cancelled == []


def test_sustain_pedal_holds_the_phrase_open_until_released():
    companion, sink, _ = make()
    companion.hear(mido.Message("control_change", control=64, value=127), 0.0)
    now = play_call(companion, 0.0, G_MAJOR_CALL[:4])
    now = run_until(companion, now, 6.0)
    assert companion.status != ANSWERING
    companion.hear(mido.Message("control_change", control=64, value=0), now)
    run_until(companion, now, now + BEAT + 0.05)
    assert companion.status == ANSWERING


def test_phrase_end_cc_answers_at_once_and_other_channels_are_ignored():
    companion, sink, _ = make(CompanionConfig(end_phrase_cc=20, in_channel=1))
    companion.hear(mido.Message("note_on", channel=0, note=60, velocity=90), 0.0)
    assert companion.status == LISTENING
    companion.hear(mido.Message("note_on", channel=1, note=60, velocity=90), 0.0)
    companion.hear(mido.Message("control_change", channel=1, control=20, value=127), 0.2)
    assert companion.status == ANSWERING


def test_answer_waits_for_the_next_bar_when_asked():
    companion, sink, _ = make(CompanionConfig(start_on="bar"))
    now = play_call(companion, 0.0, G_MAJOR_CALL[:5])
    run_until(companion, now, 5.0)
    first = min(n.start for n in sink.notes())
    assert first == pytest.approx(2 * 4 * BEAT)  # phrase end at 2.9 s; bar 3 begins at 4.0 s


@pytest.mark.parametrize("tonic, steps", [(62, (0, 4, 7, 4, 5, 2, -1, 0)), (57, (0, 3, 7, 3, 5, 2, -1, 0))])
def test_key_locked_answers_come_back_in_the_calls_key(tonic, steps):
    call = [tonic + s for s in steps]
    companion, sink, _ = make(CompanionConfig(key_lock=True), seed=5)
    now = play_call(companion, 0.0, call)
    run_until(companion, now, 12.0)
    key = companion.key
    assert len(sink.notes()) > 5
    assert all(n.pitch % 12 in key.scale() for n in sink.notes())


def test_bad_settings_are_refused_in_musical_words():
    with pytest.raises(ValueError, match="tempo must be between 20 and 400 bpm, got 0"):
        CompanionConfig(bpm=0)
    with pytest.raises(ValueError, match="out channel must be 1 to 16, got 17"):
        CompanionConfig(out_channel=16)


def test_metronome_clicks_every_beat_and_the_player_follows_its_grid():
    companion, sink, _ = make(CompanionConfig(metronome_channel=9, beats_per_bar=3))
    companion.tick(1.0)
    origin = companion.clock.origin
    assert origin == pytest.approx(1.1)
    now = play_call(companion, 2.37, G_MAJOR_CALL[:6])  # off the click's grid
    run_until(companion, now, 9.0)
    clicks = [n for tag, n in sink.played if n.channel == 9]
    assert [round((c.start - origin) / BEAT, 9) for c in clicks[:7]] == [0, 1, 2, 3, 4, 5, 6]
    assert [c.pitch for c in clicks[:4]] == [76, 77, 77, 76], "the downbeat of each 3/4 bar is accented"
    assert companion.clock.origin == origin, "a call does not move the metronome's grid"
    answer = [n for tag, n in sink.played if n.channel != 9]
    first = min(n.start for n in answer)
    assert (first - origin) / BEAT == pytest.approx(round((first - origin) / BEAT))


def test_a_count_in_clicks_its_bars_then_falls_silent_and_keeps_its_grid():
    companion, sink, _ = make(CompanionConfig(metronome_channel=9, click_bars=2))
    companion.tick(1.0)
    origin = companion.clock.origin
    now = play_call(companion, origin + 8 * BEAT + 0.13, G_MAJOR_CALL)  # late by a little, after the count-in
    run_until(companion, now, now + 6.0)
    clicks = [n for tag, n in sink.played if n.channel == 9]
    assert [round((c.start - origin) / BEAT, 9) for c in clicks] == list(range(8)), "two bars of clicks, then none"
    assert companion.clock.origin == origin, "the count-in's grid holds: the player came in on it"
    answer = [n for tag, n in sink.played if n.channel != 9]
    assert answer and all(((n.start - origin) / GRID_SECONDS) == pytest.approx(round((n.start - origin) / GRID_SECONDS))
                          for n in answer)


def test_as_clock_master_it_sends_start_then_24_pulses_a_beat_on_absolute_deadlines():
    companion, sink, _ = make(CompanionConfig(send_clock=True, bpm=100))
    for step in range(400):
        companion.tick(5.0 + step * 0.005)
    origin = companion.clock.origin
    kinds = [message.type for _, _, message in sink.sent]
    assert kinds[0] == "start" and set(kinds[1:]) == {"clock"}
    pulses = [at for _, at, message in sink.sent if message.type == "clock"]
    assert pulses[0] == pytest.approx(origin)
    assert np.allclose(np.diff(pulses), 0.6 / 24)
    assert len(pulses) == pytest.approx((5.0 + 400 * 0.005 - origin) / (0.6 / 24) + 24, abs=2)


def test_a_knob_turns_temperature_and_key_lock_for_the_very_next_notes():
    companion, sink, _ = make(CompanionConfig(answer_bars=8, knobs=((21, "temperature"), (30, "key-lock"))),
                              sampling=SamplingConfig(temperature=1.5), seed=3)
    now = play_call(companion, 0.0, G_MAJOR_CALL)
    now = run_until(companion, now, 6.0)
    assert companion.status == ANSWERING
    played_before = len(sink.played)
    companion.hear(mido.Message("control_change", control=21, value=0), now)
    assert companion.sampler.config.temperature == pytest.approx(0.1)
    companion.hear(mido.Message("control_change", control=30, value=127), now)
    scale = companion.key.scale()
    run_until(companion, now, now + 8.0)
    after = [note for _, note in sink.played[played_before:]]
    assert len(after) > 5
    assert all(note.pitch % 12 in scale for note in after), "every note after the CC is in the call's key"


def test_midi_learn_binds_the_next_controllers_moved_in_order():
    companion, _, _ = make(CompanionConfig(learn=("temperature", "answer-bars")))
    learned = []
    companion.on_learned = lambda name, control, left: learned.append((name, control, left))
    companion.hear(mido.Message("control_change", control=74, value=10), 0.0)
    companion.hear(mido.Message("control_change", control=74, value=20), 0.1)  # the same knob, still moving
    companion.hear(mido.Message("control_change", control=71, value=0), 0.2)
    assert learned == [("temperature", 74, ["answer-bars"]), ("answer-bars", 71, [])]
    companion.hear(mido.Message("control_change", control=71, value=127), 0.3)
    assert companion.config.answer_bars == 16


def test_unknown_knob_names_are_refused_with_the_list():
    with pytest.raises(ValueError, match="no knob called 'loudness'; knobs: temperature"):
        CompanionConfig(knobs=((20, "loudness"),))


@pytest.mark.parametrize("bpm", [84, 132])
def test_bpm_auto_takes_the_tempo_of_the_first_phrase_and_answers_on_its_beat(bpm):
    companion, sink, _ = make(CompanionConfig(auto_tempo=True, bpm=100))
    beat = 60.0 / bpm
    now = play_call(companion, 1.0, G_MAJOR_CALL, beat_seconds=beat, length=0.5)
    run_until(companion, now, now + 3.0)
    assert companion.clock.bpm == pytest.approx(bpm, rel=0.01)
    first = min(n.start for n in sink.notes())
    beats = (first - 1.0) / beat
    assert abs(beats - round(beats)) * beat < 0.01, "within 10 ms of the player's own beat"


def test_range_knobs_keep_a_range_and_the_next_notes_keep_inside_it():
    companion, sink, _ = make(CompanionConfig(answer_bars=8, knobs=((22, "lowest"), (23, "highest"))), seed=4)
    now = play_call(companion, 0.0, G_MAJOR_CALL)
    now = run_until(companion, now, 6.0)
    assert companion.status == ANSWERING
    companion.hear(mido.Message("control_change", control=23, value=0), now)  # highest -> A0: lowest follows
    assert (companion.tuning.settings.pitch_low, companion.tuning.settings.pitch_high) == (21, 21)
    companion.hear(mido.Message("control_change", control=22, value=57), now)  # lowest -> 60: highest follows
    companion.hear(mido.Message("control_change", control=23, value=69), now)  # highest -> 68
    assert (companion.tuning.settings.pitch_low, companion.tuning.settings.pitch_high) == (60, 68)
    played_before = len(sink.played)
    run_until(companion, now, now + 8.0)
    after = [note.pitch for _, note in sink.played[played_before:]]
    assert len(after) > 5 and all(60 <= pitch <= 68 for pitch in after), after


def test_the_preset_knob_switches_models_at_once_and_reprimes_the_new_one():
    sink = FakeSink()
    first, second = StepModel(random_weights(seed=11)), StepModel(random_weights(hidden=24, seed=5))
    companion = Companion(first, Sampler(SamplingConfig(), seed=0), sink,
                          CompanionConfig(answer_bars=8, knobs=((24, "preset"),)), models=(first, second))
    now = play_call(companion, 0.0, G_MAJOR_CALL)
    now = run_until(companion, now, 6.0)
    assert companion.status == ANSWERING
    companion.hear(mido.Message("control_change", control=24, value=127), now)
    assert companion.priming.model is second and companion.controls.values["preset"] == 1
    assert companion.priming.state.hidden[0].shape[-1] == 24, "the state is the new model's, primed from what was played"
    assert sink.cancelled, "the old model's answer stops: its state cannot go on in the new model"
    now = play_call(companion, now + 1.0, G_MAJOR_CALL)
    run_until(companion, now, now + 4.0)
    assert companion.answers_started == 2


def test_a_reprime_from_dense_bars_reads_only_the_seed_buffers_last_tokens():
    companion, _, model = make(CompanionConfig(answer_bars=1, key_mode="as-is"))
    fed = []
    feed = model.feed
    model.feed = lambda tokens, state, heard=None: fed.append(list(tokens)) or feed(tokens, state, heard)
    now = 0.0
    for beat in range(8 * 4):  # eight bars of four-note chords on every beat: ~420 tokens
        for pitch in (48, 55, 64, 72):
            companion.hear(mido.Message("note_on", note=pitch + beat % 3, velocity=80), beat * BEAT)
        now = run_until(companion, now, beat * BEAT + 0.8 * BEAT)
        for pitch in (48, 55, 64, 72):
            companion.hear(mido.Message("note_off", note=pitch + beat % 3), now)
    companion.tick(now)
    fed.clear()
    companion.reprime(now)
    (tokens,) = fed
    assert len(tokens) <= REPRIME_TOKENS < companion.priming.writer.cursor.tokens_read
    onsets = {}
    for note in codec.decode(tokens):
        onsets.setdefault(note.onset, []).append(note.pitch)
    assert len(onsets) >= 4 and all(len(chord) == 4 for chord in onsets.values())  # no chord is cut
    assert onsets[max(onsets)] == [48 + 31 % 3, 55 + 31 % 3, 64 + 31 % 3, 72 + 31 % 3]  # the last one played
    run_until(companion, now, now + 2 * BEAT)
    assert companion.status == ANSWERING


@pytest.mark.parametrize("bars, expected_end_beats", [(1, 4), (6, 24)])  # from 2 bars: cut to the bar line, or longer
def test_the_answer_length_knob_changes_the_answer_under_way(bars, expected_end_beats):
    companion, sink, _ = make(CompanionConfig(answer_bars=2, knobs=((25, "answer-bars"),)), seed=2)
    now = play_call(companion, 0.0, G_MAJOR_CALL)
    now = run_until(companion, now, 5.0 + 1.5 * BEAT)
    assert companion.status == ANSWERING
    start = companion.answered[-1].start
    companion.hear(mido.Message("control_change", control=25, value=round((bars - 1) * 127 / 15)), now)
    run_until(companion, now, start + 30 * BEAT)
    notes = sink.notes()
    assert max(n.start for n in notes) < start + expected_end_beats * BEAT
    if bars > 2:
        assert max(n.start for n in notes) >= start + 8 * BEAT, "the answer went on past its old end"



D_MINOR_CALL = [62, 65, 69, 65, 70, 69, 61, 62]  # D F A F | B-flat A C-sharp D


def test_a_mode_telling_preset_hears_a_minor_call_and_answers_it_in_minor_bars():
    weights = random_weights(seed=11, vocab=codec.MODAL_VOCAB_SIZE)
    sink, model = FakeSink(), Recorder(weights)
    companion = Companion(model, Sampler(SamplingConfig(), seed=0), sink,
                          CompanionConfig(key_mode="canonical+mode"))
    start = 3.0
    now = play_call(companion, start, D_MINOR_CALL)
    now = run_until(companion, now, start + 7.8 * BEAT + 0.9 * BEAT)
    assert companion.key == Key(2, "minor") and companion.status != ANSWERING
    shift = companion.key.to_canonical()
    call = [codec.Note(i * 12, codec.transpose_pitch(p, shift), 90, round(0.8 * 12))
            for i, p in enumerate(D_MINOR_CALL)]
    plain = StepModel(weights)
    expected = plain.feed(codec.encode(call, bar_token=codec.BAR_MINOR), plain.initial_state())
    assert np.allclose(companion.priming.state.logits, expected, atol=1e-5)
    heard_before_answer = len(model.heard)
    run_until(companion, now, start + 8 * BEAT + 2 * 4 * BEAT + 0.5)
    assert companion.answers_started == 1 and sink.notes()
    answered = model.heard[heard_before_answer:]
    assert codec.BAR_MINOR in answered and codec.BAR not in answered


def test_the_preset_knob_tells_the_mode_to_a_modal_preset_and_not_to_a_plain_one():
    sink = FakeSink()
    plain = StepModel(random_weights(seed=11))
    modal = Recorder(random_weights(seed=5, vocab=codec.MODAL_VOCAB_SIZE))
    companion = Companion(plain, Sampler(SamplingConfig(), seed=0), sink,
                          CompanionConfig(key_mode="canonical", knobs=((24, "preset"),)), models=(plain, modal))
    now = play_call(companion, 0.0, D_MINOR_CALL)
    now = run_until(companion, now, 5.0)
    assert companion.key == Key(2, "minor") and companion.priming.writer.cursor.bar_token == codec.BAR
    companion.hear(mido.Message("control_change", control=24, value=127), now)
    assert companion.priming.model is modal and companion.priming.writer.cursor.bar_token == codec.BAR_MINOR
    now = play_call(companion, now + 1.0, D_MINOR_CALL)
    # While the call goes on, its key is judged as if it ended at the note just played (a lone melody's
    # last note may name a key near the best, F major on an F): its answer, ended on D, is all minor bars.
    answered_from = len(modal.heard)
    run_until(companion, now, now + 6.0)
    answer_tokens = modal.heard[answered_from:]
    assert companion.answers_started == 2 and codec.BAR_MINOR in answer_tokens and codec.BAR not in answer_tokens
    companion.hear(mido.Message("control_change", control=24, value=0), now + 6.0)
    assert companion.priming.model is plain and companion.priming.writer.cursor.bar_token == codec.BAR
    now = play_call(companion, now + 7.0, D_MINOR_CALL)  # a plain model fed BAR_MINOR would raise
    run_until(companion, now, now + 6.0)
    assert companion.answers_started == 3


def test_a_lone_melody_is_answered_in_the_key_it_ends_on_when_its_notes_fit_that_key_almost_as_well():
    """A A B B G: by its notes E minor by a hair, but it comes home to G (as livegen.music.key has it offline)."""
    companion, _, _ = make(CompanionConfig(answer_bars=1))
    now = play_call(companion, 0.0, [69, 69, 71, 71, 67])
    run_until(companion, now, now + 2.0)
    assert companion.status == ANSWERING and companion.key == Key(7, "major")


def test_a_melody_over_a_held_bass_is_not_a_lone_melody():
    companion, _, _ = make(CompanionConfig(answer_bars=1))
    companion.hear(mido.Message("note_on", note=40, velocity=70), 0.0)  # E held under the tune
    now = play_call(companion, 0.0, [69, 69, 71, 71, 67])
    companion.hear(mido.Message("note_off", note=40), now)
    assert companion.seed.player_ending() is None
    run_until(companion, now, now + 2.0)
    assert companion.status == ANSWERING and companion.key == Key(4, "minor")
