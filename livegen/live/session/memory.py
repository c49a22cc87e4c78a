"""The session's memory file: what was learned of the player, read at the start and written at the end."""

from __future__ import annotations

from pathlib import Path

from livegen.model import memory
from livegen.model.session_model import SessionModel


class SessionMemory:
    """``path`` read once at the start and written once at the end; a file that cannot be read is refused,
    said why, and never written over."""

    def __init__(self, path: Path, key_frame: str, log) -> None:
        self.path = Path(path)
        self.key_frame = key_frame
        self.log = log
        self.refused = False

    def recall(self) -> SessionModel | None:
        """What earlier sessions learned, if the file exists and is a session memory of this kind; else None."""
        if not self.path.exists():
            return None
        try:
            remembered = memory.load(self.path, self.key_frame)
        except memory.MemoryFileError as error:
            self.refused = True
            self.log(f"not using the session memory: {error}. The session goes on without it and leaves the "
                     "file as it is")
            return None
        self.log(f"remembering {len(remembered)} contexts of your playing from {self.path}")
        return remembered

    def keep(self, learned: SessionModel) -> None:
        """Write what the session learned (unless the file there was refused at the start)."""
        if self.refused:
            self.log(f"left {self.path} as it was: it could not be read as a session memory")
            return
        memory.save(self.path, learned, self.key_frame)
        self.log(f"saved {len(learned)} contexts of your playing to {self.path}")
