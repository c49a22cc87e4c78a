"""Files replaced whole: written beside their target and renamed over it, so no reader sees half."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def replacing(path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; it replaces ``path`` only if the block completes.

    The temporary is hidden and ends in ``suffix``: ``.tmp``, which no folder scan takes for music,
    unless a writer insists on its own ending (Keras saves only to ``.keras``).
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}{suffix}")  # same folder: rename stays atomic
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_atomically(path, write: Callable[[BinaryIO], object], sync: bool = True) -> None:
    """Replace ``path`` with what ``write`` puts into the binary stream it is given, all or nothing.

    ``sync`` puts the data on disk before the rename (a few ms), so even a power cut cannot empty
    the file; what can be made again (a cache entry) may skip it.
    """
    with replacing(path) as temporary:
        # os.open with mode 0o666 lets the umask decide permissions, as for any new file.
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as stream:
            write(stream)
            if sync:
                stream.flush()
                os.fsync(stream.fileno())


def atomic_write(path, data: bytes, sync: bool = True) -> None:
    """Replace ``path`` with ``data``: a reader sees the old file or the new one, never a part."""
    write_atomically(path, lambda stream: stream.write(data), sync)
