"""Checks on a MIDI file's bytes before mido parses them: size, header and chunk structure."""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path

from .errors import MidiFileError

MAX_FILE_BYTES = 16 * 1024 * 1024
# No event holds this many bytes above 127 in a row; mido reads such a run as one number, in
# time quadratic in its length (300 kB: 15 s; 16 MB: hours), so it is refused before parsing.
MAX_HIGH_BYTE_RUN = 1024
_HIGH_BYTE_RUN = re.compile(rb"[\x80-\xff]{%d}" % (MAX_HIGH_BYTE_RUN + 1))
_CHUNK_NAME = re.compile(rb"[\x20-\x7e]{4}")


def checked_bytes(source) -> tuple[bytes, list[str]]:
    """The bytes of a MIDI file (path or bytes) that mido may parse, with warnings, or MidiFileError."""
    return _check_header(_read_bytes(source))


def _read_bytes(source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        size = os.stat(source).st_size
        if size > MAX_FILE_BYTES:
            raise MidiFileError(_too_big(size))
        data = Path(source).read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise MidiFileError(_too_big(len(data)))
    return data


def _too_big(size: int) -> str:
    limit = MAX_FILE_BYTES // 2**20
    return f"the file is {size / 2**20:.1f} MB; MIDI files over {limit} MB are refused"


def _check_header(data: bytes) -> tuple[bytes, list[str]]:
    """Refuse what mido would misread: wrong magic, short header, type 2, SMPTE time.

    Returns the bytes for mido (alien chunks left out) and warnings.
    """
    if not data:
        raise MidiFileError("the file is empty")
    if not data.startswith(b"MThd"):
        raise MidiFileError(f"not a MIDI file (it starts with {data[:4]!r}, not b'MThd')")
    if len(data) < 14:
        raise MidiFileError("the MIDI file is truncated: its header is incomplete")
    header_length, file_type, track_count, division = struct.unpack(">LHHH", data[4:14])
    if header_length < 6:
        raise MidiFileError(f"the MIDI header is {header_length} bytes long; it needs 6")
    if file_type == 2:
        raise MidiFileError(
            "MIDI file type 2 (independent patterns) is not supported; use type 0 or 1"
        )
    if file_type > 2:
        raise MidiFileError(f"unknown MIDI file type {file_type}")
    if division & 0x8000:
        raise MidiFileError(
            "the file counts time in SMPTE frames, not beats; re-save it with beats"
        )
    if division == 0:
        raise MidiFileError("the file has 0 ticks per beat")
    return _check_chunks(data, 8 + header_length, track_count)


def _check_chunks(data: bytes, offset: int, track_count: int) -> tuple[bytes, list[str]]:
    """Walk the chunks by their stated lengths, so a cut or mis-sized one is named.

    Alien chunks (a printable name other than MTrk) are left out, as the standard says
    readers must do; mido would refuse them.
    """
    kept = [data[:offset]]
    aliens = []
    track = 0
    while track < track_count:
        if offset + 8 > len(data):
            raise MidiFileError(
                f"the MIDI file is truncated: the header promises {track_count} tracks, "
                f"it holds {track}"
            )
        name, length = struct.unpack(">4sL", data[offset:offset + 8])
        is_track = name == b"MTrk"
        if not is_track and not _CHUNK_NAME.fullmatch(name):
            raise MidiFileError(
                f"the MIDI file is corrupt: track {track + 1} starts with {name!r}, not b'MTrk' "
                "(the length of the chunk before it is wrong)"
            )
        end = offset + 8 + length
        if end > len(data):
            chunk = f"track {track + 1}" if is_track else f"chunk {name!r}"
            raise MidiFileError(
                f"the MIDI file is truncated: {chunk} should have {length} bytes, "
                f"it has {len(data) - offset - 8}"
            )
        if is_track:
            track += 1
            if _HIGH_BYTE_RUN.search(data, offset + 8, end):
                raise MidiFileError(
                    f"the MIDI file is corrupt: track {track} holds more than "
                    f"{MAX_HIGH_BYTE_RUN} bytes above 127 in a row"
                )
            kept.append(data[offset:end])
        else:
            aliens.append(name.decode("ascii"))
        offset = end
    warnings = [f"unknown chunks were ignored: {', '.join(aliens)}"] if aliens else []
    return b"".join(kept), warnings
