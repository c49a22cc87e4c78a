"""Key finding and the canonical key."""

import pytest

from livegen.music import codec
from livegen.music.codec import Note
from livegen.music.key import (ENDING_MARGIN, Key, bar_token, correlations, estimate_key, in_scale_ratio, key_correlation,
                               lone_ending, pitch_class_histogram, tells_mode, transposes)

MAJOR_STEPS = (0, 2, 4, 5, 7, 9, 11, 12)
MINOR_STEPS = (0, 2, 3, 5, 7, 8, 11, 12)


def scale_run(tonic_pitch, steps, tonic_weight=3):
    """An up-and-down scale with a long tonic and dominant, as a tune would lean on them."""
    notes = [Note(i * 12, tonic_pitch + s, 80, 12) for i, s in enumerate(steps)]
    notes.append(Note(len(steps) * 12, tonic_pitch, 80, 12 * tonic_weight))
    notes.append(Note(len(steps) * 12 + 48, tonic_pitch + 7, 80, 12 * tonic_weight))
    return notes


@pytest.mark.parametrize("tonic", range(12))
def test_scales_are_found_in_all_twelve_major_and_minor_keys(tonic):
    assert estimate_key(scale_run(48 + tonic, MAJOR_STEPS)) == Key(tonic, "major")
    assert estimate_key(scale_run(48 + tonic, MINOR_STEPS)) == Key(tonic, "minor")


@pytest.mark.parametrize("key, shift", [
    (Key(0, "major"), 0), (Key(7, "major"), 5), (Key(2, "major"), -2), (Key(6, "major"), 6),
    (Key(9, "minor"), 0), (Key(4, "minor"), 5), (Key(11, "minor"), -2),
])
def test_canonical_shift_is_the_smaller_move_to_c_major_or_a_minor(key, shift):
    assert key.to_canonical() == shift
    assert (key.tonic + shift) % 12 == (0 if key.mode == "major" else 9)


def test_fit_measures():
    g_major = scale_run(55, MAJOR_STEPS)
    assert key_correlation(Key(7, "major"), g_major) > 0.7
    assert key_correlation(Key(1, "major"), g_major) < 0.2
    assert in_scale_ratio(Key(7, "major"), g_major) == 1.0
    assert in_scale_ratio(Key(1, "major"), g_major) < 0.7
    assert estimate_key([]) == Key(0, "major")


@pytest.mark.parametrize("key_mode, key, expected", [
    ("canonical+mode", Key(9, "minor"), "BAR_MINOR"),
    ("canonical+mode", Key(4, "minor"), "BAR_MINOR"),
    ("canonical+mode", Key(0, "major"), "BAR"),
    ("canonical+mode", None, "BAR"),  # no call heard yet
    ("canonical", Key(9, "minor"), "BAR"),
    ("as-is", Key(9, "minor"), "BAR"),
])
def test_only_a_mode_telling_preset_opens_minor_bars(key_mode, key, expected):
    assert bar_token(tells_mode(key_mode), key) == getattr(codec, expected)
    assert transposes(key_mode) == (key_mode != "as-is")


AMBIGUOUS = [Note(0, 69, 80, 12), Note(12, 69, 80, 12), Note(24, 71, 80, 12), Note(36, 71, 80, 12)]  # A A B B


def test_a_lone_melody_ending_on_a_near_best_keys_tonic_is_heard_in_that_key():
    melody = AMBIGUOUS + [Note(48, 67, 80, 12)]  # ... G: by its notes E minor, by a hair
    assert estimate_key(melody) == Key(4, "minor")
    assert lone_ending(melody) == 67 and estimate_key(melody, lone_ending(melody)) == Key(7, "major")


def test_an_ending_on_a_key_far_from_the_best_changes_nothing():
    melody = [Note(i * 12, p, 80, 12) for i, p in enumerate((60, 62, 64, 65, 67, 65, 64, 62, 60, 64, 67, 66))]
    scores = correlations(pitch_class_histogram(melody))
    assert scores[6] < scores.max() - ENDING_MARGIN and scores[18] < scores.max() - ENDING_MARGIN  # F# major, minor
    assert estimate_key(melody, lone_ending(melody)) == estimate_key(melody) == Key(0, "major")


def test_chords_have_no_lone_ending_and_their_harmony_decides():
    with_a_chord = AMBIGUOUS + [Note(48, 55, 80, 12), Note(48, 67, 80, 12)]
    assert lone_ending(with_a_chord) is None and lone_ending([]) is None
    assert estimate_key(with_a_chord, lone_ending(with_a_chord)) == estimate_key(with_a_chord)
