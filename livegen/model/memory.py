"""The session memory file: what the session model learned of a player, kept between sessions.

JSON, versioned, replaced whole (``livegen.atomic``), and bounded: at most
``adapt.CONTEXTS_KEPT`` contexts, so at most ``MAX_FILE_BYTES``. Reading checks every entry; a
file that is not one, is of another version, or was learned in another key frame is refused with
``MemoryFileError`` saying why.
"""

from __future__ import annotations

import json
from pathlib import Path

from livegen.atomic import atomic_write
from livegen.errors import LivegenError
from livegen.model.session_model import CONTEXTS_KEPT, MAX_TOTAL, ORDERS, SessionModel, counted
from livegen.music import codec

FORMAT = "livegen session memory"
VERSION = 1
# A full table: 16,384 contexts of six tokens with a few followers each is about 1 MB.
MAX_FILE_BYTES = 8 * 1024 * 1024
FRAMES = ("canonical key", "as played")  # moved to C major / A minor as the preset hears it, or not


class MemoryFileError(LivegenError, ValueError):
    """A session memory file that cannot be used, and why."""


def frame(transposes: bool) -> str:
    """The key frame of a preset that moves calls to the canonical key (``transposes``) or not."""
    return FRAMES[0] if transposes else FRAMES[1]


def save(path, model: SessionModel, key_frame: str) -> None:
    """Write ``model``'s contexts, least recently heard first, replacing ``path`` whole."""
    data = {"format": FORMAT, "version": VERSION, "frame": key_frame, "orders": ORDERS,
            "contexts": [[list(context), sorted(counts.items())] for context, counts in model.entries()]}
    atomic_write(path, (json.dumps(data, separators=(",", ":")) + "\n").encode("utf-8"))


def load(path, key_frame: str) -> SessionModel:
    """The session model kept in ``path``; raises ``MemoryFileError`` naming what is wrong."""
    path = Path(path)
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise MemoryFileError(f"cannot read {path}: {error.strerror or error}") from error
    if len(raw) > MAX_FILE_BYTES:
        raise MemoryFileError(f"{path} is larger than a session memory can be ({MAX_FILE_BYTES // 2**20} MB)")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise MemoryFileError(f"{path} is not a session memory (not JSON: {error})") from error
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise MemoryFileError(f"{path} is not a session memory (no \"format\": \"{FORMAT}\" in it)")
    if data.get("version") != VERSION:
        raise MemoryFileError(f"{path} is a session memory of version {data.get('version')!r}; "
                              f"this livegen reads version {VERSION}")
    if data.get("frame") != key_frame:
        raise MemoryFileError(f"{path} was learned with the music heard {data.get('frame')!r}, but this preset "
                              f"hears it {key_frame!r}")
    if data.get("orders") != ORDERS:
        raise MemoryFileError(f"{path} holds contexts of {data.get('orders')!r} tokens; this livegen uses {ORDERS}")
    model = SessionModel()
    model.load(_entries(path, data.get("contexts")))
    return model


def _entries(path: Path, contexts) -> list[tuple[tuple[int, ...], dict[int, int]]]:
    if not isinstance(contexts, list):
        raise MemoryFileError(f"{path} has no list of contexts")
    if len(contexts) > CONTEXTS_KEPT:
        raise MemoryFileError(f"{path} holds {len(contexts)} contexts, more than the {CONTEXTS_KEPT} a session keeps")
    entries, seen = [], set()
    for number, item in enumerate(contexts):
        try:
            context, followers = item
            entry = _context(context), _followers(followers)
        except (TypeError, ValueError) as error:
            raise MemoryFileError(f"{path}: context {number} is not [[tokens], [[token, count], ...]] "
                                  f"of this vocabulary ({error})") from error
        if entry[0] in seen:
            raise MemoryFileError(f"{path}: context {number} appears twice")
        seen.add(entry[0])
        entries.append(entry)
    return entries


def _token(value) -> int:
    """A token as the session model counts it (not padding, a velocity, or the minor bar: that is BAR)."""
    if type(value) is not int or not 0 < value < codec.MODAL_VOCAB_SIZE or counted(value) != value:
        raise ValueError(f"{value!r} is not a token it learns")
    return value


def _context(tokens) -> tuple[int, ...]:
    if not isinstance(tokens, list) or not 1 <= len(tokens) <= ORDERS:
        raise ValueError(f"a context is 1 to {ORDERS} tokens")
    return tuple(_token(token) for token in tokens)


def _followers(pairs) -> dict[int, int]:
    if not isinstance(pairs, list) or not pairs:
        raise ValueError("a context needs what followed it")
    counts = {}
    for token, count in pairs:
        if type(count) is not int or count < 1:
            raise ValueError(f"count {count!r} is not a positive whole number")
        counts[_token(token)] = count
    if len(counts) < len(pairs) or sum(counts.values()) > MAX_TOTAL:
        raise ValueError(f"a token repeated, or counts above {MAX_TOTAL} in all")
    return counts
