"""Memory and speed of the training input on a folder: read, encode to disk, split, one epoch read.

Run it in a fresh process (``python -m livegen.training.bench_input FOLDER``): peak RSS is the process's
own, taken after TensorFlow is imported and again at the end, so the difference is the input's.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from livegen.training.config import TrainConfig
from livegen.training.preparation import TOKENS_FILE, prepare_data


def bench_input(folder, config: TrainConfig = TrainConfig()) -> dict:
    """Files/s of ingest and encoding, windows/s of one epoch of training and validation
    windows read back, and the process's peak RSS before and after (MB)."""
    peak_before = _peak_rss_mb()
    with tempfile.TemporaryDirectory() as scratch:
        started = time.perf_counter()
        data = prepare_data(Path(folder), config, Path(scratch) / TOKENS_FILE, log=lambda line: None)
        prepared = time.perf_counter()
        windows = sum(int(batch[-1].shape[0])  # the target weights: one row a window
                      for streams, shuffle in ((data.train_streams, True), (data.val_streams, False))
                      for batch in data.dataset(streams, config, shuffle))
        read = time.perf_counter()
    return {
        "files": len(data.store.files),
        "tokens": data.store.tokens(data.train_streams) + data.store.tokens(data.val_streams),
        "windows": windows,
        "files_per_s": round(len(data.store.files) / (prepared - started), 1),
        "windows_per_s": round(windows / (read - prepared), 1),
        "peak_rss_before_mb": peak_before,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _peak_rss_mb() -> int:
    """This process's peak resident memory so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


if __name__ == "__main__":
    print(json.dumps(bench_input(sys.argv[1]), indent=2))
