"""How a preset plays, measured: calls cut from held-out pieces, answered in many keys, compared.

The few names a caller needs: ``EvalConfig``, ``EvaluationError``, ``evaluate`` and ``format_table``.
"""

from livegen.evaluate.config import EvalConfig, EvaluationError
from livegen.evaluate.evaluation import evaluate
from livegen.evaluate.report import format_table

__all__ = ["EvalConfig", "EvaluationError", "evaluate", "format_table"]
