"""The session memory file: it round-trips what was learned, stays within its size, refuses what it
cannot use with the reason, and the session never writes over a file it refused."""

import json

import numpy as np
import pytest

from livegen.live.session.memory import SessionMemory
from livegen.model import memory
from livegen.model.session_model import CONTEXTS_KEPT, MAX_TOTAL, ORDERS, SessionModel, extended_by
from livegen.music import codec
from tests.helpers import phrase
from tests.test_adapt import learned_from

CANONICAL = memory.frame(True)


def test_a_memory_file_round_trips(tmp_path):
    model, context = learned_from(codec.encode(phrase(60, bars=4)))
    file = tmp_path / "me.json"
    memory.save(file, model, CANONICAL)
    again = memory.load(file, CANONICAL)
    assert list(again.entries()) == list(model.entries())
    assert again.predict(context) == model.predict(context)
    assert json.loads(file.read_text())["version"] == memory.VERSION


def test_a_full_table_fits_the_file_size_bound(tmp_path):
    model = SessionModel()
    rng = np.random.default_rng(1)
    context = ()
    while len(model) < CONTEXTS_KEPT:
        token = int(rng.integers(codec.PITCH_BASE, codec.VELOCITY_BASE))
        model.learn(context, token)
        context = extended_by(context, token)
    file = tmp_path / "full.json"
    memory.save(file, model, CANONICAL)
    assert file.stat().st_size <= memory.MAX_FILE_BYTES
    assert len(memory.load(file, CANONICAL)) == CONTEXTS_KEPT


def _saved(tmp_path, **changes):
    model, _ = learned_from(codec.encode(phrase(60)))
    file = tmp_path / "me.json"
    memory.save(file, model, CANONICAL)
    data = json.loads(file.read_text())
    data.update(changes)
    file.write_text(json.dumps(data))
    return file


@pytest.mark.parametrize("content, reason", [
    (b'{"format": "livegen session memory", "vers', "not JSON"),
    (b'{"temperature": 21}', "not a session memory"),
    (b"\x89PNG\r\n\x1a\n", "not JSON"),
    (b"[1, 2, 3]", "not a session memory"),
])
def test_a_corrupt_or_foreign_file_is_refused_with_its_reason(tmp_path, content, reason):
    file = tmp_path / "me.json"
    file.write_bytes(content)
    with pytest.raises(memory.MemoryFileError, match=reason):
        memory.load(file, CANONICAL)


@pytest.mark.parametrize("changes, reason", [
    ({"version": 2}, "version 2; this livegen reads version 1"),
    ({"frame": memory.frame(False)}, "learned with the music heard 'as played'"),
    ({"orders": 3}, "contexts of 3 tokens"),
    ({"contexts": [[[codec.velocity_token(80)], [[codec.BAR, 1]]]]}, "context 0 is not"),
    ({"contexts": [[[codec.BAR], [[codec.position_token(0), -4]]]]}, "context 0 is not"),
    ({"contexts": [[[codec.BAR], [[codec.position_token(0), 1]]]] * 2}, "context 1 appears twice"),
    ({"contexts": [[[codec.BAR] * (ORDERS + 1), [[codec.BAR, 1]]]]}, "context 0 is not"),
    ({"contexts": [[[codec.BAR], [[codec.BAR, MAX_TOTAL + 1]]]]}, "context 0 is not"),
    ({"contexts": "everything"}, "no list of contexts"),
    ({"contexts": [[[codec.BAR], [[codec.BAR, 1]]]] * (CONTEXTS_KEPT + 1)}, "more than"),
])
def test_a_file_of_another_kind_version_or_content_is_refused_naming_what_is_wrong(tmp_path, changes, reason):
    with pytest.raises(memory.MemoryFileError, match=reason):
        memory.load(_saved(tmp_path, **changes), CANONICAL)


def test_an_oversized_file_is_refused_before_it_is_parsed(tmp_path):
    file = tmp_path / "big.json"
    file.write_bytes(b" " * (memory.MAX_FILE_BYTES + 1))
    with pytest.raises(memory.MemoryFileError, match="larger than a session memory can be"):
        memory.load(file, CANONICAL)


def test_the_session_refuses_a_bad_file_says_why_goes_on_and_never_writes_over_it(tmp_path):
    file = tmp_path / "knobs.json"
    file.write_text('{"temperature": 21}\n')
    said = []
    kept = SessionMemory(file, CANONICAL, said.append)
    assert kept.recall() is None
    assert "not using the session memory" in said[0] and "not a session memory" in said[0]
    kept.keep(learned_from(codec.encode(phrase(60)))[0])
    assert file.read_text() == '{"temperature": 21}\n', "a file it could not read is left as it was"
    assert "left" in said[-1]


def test_the_session_remembers_across_two_runs_and_starts_empty_without_a_file(tmp_path):
    file = tmp_path / "me.json"
    said = []
    first = SessionMemory(file, CANONICAL, said.append)
    assert first.recall() is None and not file.exists()
    model, context = learned_from(codec.encode(phrase(62)))
    first.keep(model)
    second = SessionMemory(file, CANONICAL, said.append).recall()
    assert second.predict(context) == model.predict(context)
    assert f"saved {len(model)} contexts" in said[0] and f"remembering {len(model)} contexts" in said[1]
