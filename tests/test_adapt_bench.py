"""The bench row for learning the player: the step with the session model, beside the step without."""

from livegen.bench.learning import bench_adaptation, full_table
from livegen.model.session_model import CONTEXTS_KEPT
from tests.helpers import random_weights


def test_the_bench_times_the_step_with_the_session_model_beside_the_step_without():
    assert len(full_table()) == CONTEXTS_KEPT
    row = bench_adaptation(random_weights(hidden=32), 300)
    assert row["count"] == row["without"]["count"] == 300
    assert row["mixed_share"] > 0.5 and row["without"]["mixed_share"] == 0
    assert row["median_ms"] > 0 and row["contexts"] == CONTEXTS_KEPT
