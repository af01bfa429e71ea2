"""The topics and levels of exercise sheets (no heavy imports: the command line lists them in its help)."""

from __future__ import annotations

__all__ = ["TOPICS", "LEVELS"]

#: The topics, in the order of the course.
TOPICS = ("power", "product", "quotient", "chain", "exp_log", "trig", "activations", "losses", "gradient",
          "jacobian", "hessian", "chain_table", "descent", "backprop")
#: The levels of difficulty.
LEVELS = (1, 2, 3)
