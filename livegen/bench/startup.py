"""Start-up of the live process to ready, and its peak memory, against importing TensorFlow."""

from __future__ import annotations

import os
import subprocess
import sys

from livegen.bench.measure import DEFAULT_DIMS

# Peak RSS of the interpreter itself: ru_maxrss would carry the parent's peak across fork+exec
# on Linux, so VmHWM (this process image's high-water mark) is read where it exists.
PEAK_RSS = """
def peak_rss_kb():
    try:
        with open("/proc/self/status") as status:
            return int(next(line for line in status if line.startswith("VmHWM")).split()[1])
    except OSError:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""

STARTUP_SCRIPT = PEAK_RSS + """
import sys, time
started = time.perf_counter()
from livegen.live import session, engine, scheduler, ports
from livegen.model import runtime, sampling
from livegen.model.runtime import StepModel
from livegen.model.untrained import random_weights
StepModel(random_weights(%r)).warm_up()
ready = time.perf_counter() - started
heavy = [m for m in ("tensorflow", "keras", "music21", "training", "jack", "cffi", "link") if m in sys.modules]
print(ready, peak_rss_kb(), ",".join(heavy))
"""

TF_SCRIPT = PEAK_RSS + """
import time
started = time.perf_counter()
__import__("tensorflow")
print(time.perf_counter() - started, peak_rss_kb())
"""


def bench_startup() -> dict:
    """Live process start-up to ready and peak RSS, in a fresh interpreter, vs importing TensorFlow."""
    output = subprocess.run([sys.executable, "-c", STARTUP_SCRIPT % DEFAULT_DIMS], capture_output=True,
                            text=True, check=True).stdout.split()
    result = {"live_ready_s": round(float(output[0]), 3), "live_peak_rss_mb": round(int(output[1]) / 1024, 1),
              "heavy_modules_loaded": output[2] if len(output) > 2 else ""}
    tf = subprocess.run([sys.executable, "-c", TF_SCRIPT], capture_output=True, text=True,
                        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if tf.returncode == 0:
        seconds, rss = tf.stdout.split()[-2:]
        result.update(tensorflow_import_s=round(float(seconds), 3), tensorflow_peak_rss_mb=round(int(rss) / 1024, 1))
    else:
        result["tensorflow_import"] = "not installed (the [train] extra)"
    return result
