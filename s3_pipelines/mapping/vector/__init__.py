"""The compiled path of jq mappings: a parser for a subset of jq (parse.py) and an evaluator of
it over Arrow batches with jq's semantics (evaluate.py, over the value columns of columns.py, with
the built-ins of builtins.py, jq's ordering in compare.py and conversions in convert.py); plan.py
decides per expression which path runs it and evaluates a mapping over a batch."""

from .columns import NeedJq
from .parse import Unsupported, parse
from .plan import Decision, VectorPlan

__all__ = ["Decision", "NeedJq", "Unsupported", "VectorPlan", "parse"]
