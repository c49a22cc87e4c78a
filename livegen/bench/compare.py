"""The rows that need the ``[train]`` extra: Keras inference, music21 ingest, training throughput."""

from __future__ import annotations

from livegen.evaluate.calls import CALLS_FOLDER
from livegen.model import preset

INGEST_PRESET = "chorale"  # its held-out calls ship in the package, so an installed wheel has them


def comparison_rows(quick: bool) -> dict:
    """Keras against the numpy step, music21 against our MIDI reader, sequence against window training."""
    try:
        from livegen.training.bench_ingest import bench_ingest
        from livegen.training.bench_training import bench_keras_step, bench_training
    except ImportError as error:
        return {"skipped": f"needs the [train] extra (TensorFlow, music21): {error}"}
    rows = {"keras_step": bench_keras_step(predict_calls=20 if quick else 200, steps=100 if quick else 2000)}
    folder = preset.bundled_dir() / INGEST_PRESET / CALLS_FOLDER
    rows["ingest"] = {"folder": str(folder), **bench_ingest(folder)}
    rows["training"] = bench_training(seconds=4.0 if quick else 30.0)
    return rows
