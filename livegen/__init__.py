"""livegen: a real-time MIDI performance companion driven by a stateful LSTM."""

import os

# The live path multiplies one vector at a time: BLAS worker threads only add hand-offs, and on
# a busy machine a descheduled worker stalls a step for milliseconds (measured on 2 cores with
# a training running: step p99 13.6 ms with OpenBLAS's default threads, 0.28 ms with one).
# This must happen before numpy loads, so it lives here, where every livegen import starts.
for _variable in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ.setdefault(_variable, "1")

__version__ = "0.1.0"
