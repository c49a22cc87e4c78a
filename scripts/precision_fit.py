"""Same data, same minutes: which recipe gives the lower held-out loss on two cores?

Fits the chorale export (``python -m training.bundled``'s cache) with the trainer for a fixed
number of minutes under each recipe, one after the other, and prints the best held-out loss and
the training targets per second of each. Run: ``python scripts/precision_fit.py MINUTES [N ...]``
(N: the recipes to fit, counted from 1; all by default).
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from training.bundled import STYLES, cache_root
from training.trainer import train

RECIPES = {
    "float32, batch 32 (the bundled recipe)": {"precision": "float32", "batch": 32},
    "mixed bfloat16, batch 128": {"precision": "mixed_bfloat16", "batch": 128},
    "mixed bfloat16, batch 64, learning rate 0.004": {"precision": "mixed_bfloat16", "batch": 64,
                                                       "learning_rate": 4e-3},
}


def main() -> None:
    minutes = float(sys.argv[1]) if len(sys.argv) > 1 else 6.0
    chosen = [int(number) for number in sys.argv[2:]] or list(range(1, len(RECIPES) + 1))
    base = replace(STYLES["chorale"].config, max_minutes=minutes, patience=100)
    for number, (title, changes) in enumerate(RECIPES.items(), start=1):
        if number not in chosen:
            continue
        with tempfile.TemporaryDirectory() as scratch:
            out = train(cache_root() / "chorale", Path(scratch) / "fit", replace(base, **changes), log=lambda _: None)
            written = json.loads((out / "preset.json").read_text())
        print(json.dumps({"recipe": title, "val_loss_per_token": written["metrics"]["val_loss_per_token"],
                          **{key: written["training"][key] for key in ("epochs_run", "targets_per_second", "seconds")}}),
              flush=True)


if __name__ == "__main__":
    main()
