"""What the bench's rows share: the model size they time and how durations are summarised."""

from __future__ import annotations

import numpy as np

from livegen.music import voices

DEFAULT_DIMS = {"embedding": 64, "hidden": 256, "layers": 2, "voices": voices.SCHEME}  # as the bundled presets


def percentiles_ms(seconds) -> dict:
    """Median, p99 and max of durations given in seconds, in milliseconds."""
    values = np.asarray(list(seconds), dtype=np.float64) * 1000
    return {"median_ms": round(float(np.median(values)), 4), "p99_ms": round(float(np.percentile(values, 99)), 4),
            "max_ms": round(float(values.max()), 4), "count": int(values.size)}
