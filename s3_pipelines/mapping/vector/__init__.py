"""The compiled path of jq mappings: a parser for a subset of jq (parse.py) and an evaluator of
it over Arrow batches with jq's semantics (evaluate.py); plan.py decides per expression which
path runs it and evaluates a mapping over a batch."""

from .evaluate import NeedJq
from .parse import Unsupported, parse
from .plan import Decision, VectorPlan

__all__ = ["Decision", "NeedJq", "Unsupported", "VectorPlan", "parse"]
