"""Plain gradient descent and descent with momentum, side by side, and where momentum helped.

The course's momentum update is ``b(r+1) = b(r) - alpha f'(b(r)) + eta Δb`` with
``Δb = b(r) - b(r-1)``. :func:`compare_momentum` runs the same table with and
without the momentum term and says in one sentence what the term did:

* ``damped``: plain descent oscillates across the minimum (its steps change sign)
  and the momentum term, pointing against each new step, damps the swing;
* ``accelerated``: the plain steps all point the same way (a long slope or a
  plateau), so the momentum term adds them up and covers the distance faster;
* ``no_help``: momentum did not end nearer the minimum: plain descent already
  reached it (f' = 0, where momentum only carries the iterate past it), or the
  learning rate is so large that every step overshoots, and momentum keeps the
  overshoot going (the cure is a smaller alpha).

"Nearer" is measured by ``f`` at the last iterate (less the minimum value when
f has one known minimum), after the same number of steps.

>>> c = compare_momentum("5*b**2 - 3*b + 2", "b", start=4, lr=0.01, steps=3, momentum=0.9)
>>> c.verdict, [float(r.point) for r in c.momentum.rows]
('accelerated', [3.63, 2.964, 2.0982])
>>> compare_momentum("5*b**2 - 3*b + 2", "b", start=4, lr=0.1, steps=3, momentum=0.9).verdict
'no_help'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy

from derivkit.errors import InputError
from derivkit.inputs import ExprLike, as_number
from derivkit.renderable import Renderable, brief_repr
from derivkit.training.descend import Descent, decimal, descend

__all__ = ["compare_momentum", "MomentumComparison", "VERDICTS", "DEFAULT_MOMENTUM"]

VERDICTS = ("damped", "accelerated", "no_help")
#: The momentum of ``derivkit descend --compare-momentum`` when none is given.
DEFAULT_MOMENTUM = sympy.Rational(9, 10)


@dataclass(frozen=True)
class MomentumComparison(Renderable):
    """Two runs of the same descent, ``plain`` (eta = 0) and ``momentum``, with the ``verdict`` and its ``sentence``."""

    plain: Descent
    momentum: Descent
    verdict: str
    sentence: str

    def __repr__(self) -> str:
        return brief_repr(self, f=self.plain.f, lr=self.plain.lr, momentum=self.momentum.momentum,
                          steps=len(self.plain.rows), verdict=self.verdict)

    def to_dict(self) -> dict[str, Any]:
        return {"plain": self.plain.to_dict(), "momentum": self.momentum.to_dict(), "verdict": self.verdict,
                "sentence": self.sentence}


def _gap(d: Descent) -> float:
    """How far the last iterate is from the best value: f there, less the minimum value when known."""
    if d.diverged:
        return float("inf")
    last = d.rows[-1].value if d.rows else d.start_value
    best = 0.0
    if d.minimum is not None and len(d.wrt) == 1:
        best = float(d.f.subs(d.wrt[0], d.minimum))
    try:
        return float(last) - best
    except (TypeError, ValueError):
        return float("inf")


def _steps(d: Descent) -> list[float]:
    """The first coordinate of every step."""
    return [float(r.step[0] if isinstance(r.step, tuple) else r.step) for r in d.rows]


def _sign_changes(values: list[float]) -> int:
    signs = [v > 0 for v in values if v != 0]
    return sum(1 for a, b in zip(signs, signs[1:]) if a != b)


def compare_momentum(
    f: ExprLike, wrt: Any, start: Any, lr: Any, steps: int, momentum: Any = DEFAULT_MOMENTUM, *,
    decimals: bool = False,
) -> MomentumComparison:
    """The same descent with and without momentum, and a sentence on where momentum helped and why."""
    eta = as_number(momentum, what="momentum")
    if not (eta.is_real and eta.is_positive):
        raise InputError(f"compare momentum with a positive momentum eta, not {eta}")
    plain = descend(f, wrt, start, lr, steps, decimals=decimals)
    heavy = descend(f, wrt, start, lr, steps, momentum=eta, decimals=decimals)
    verdict, sentence = _judge(plain, heavy)
    return MomentumComparison(plain=plain, momentum=heavy, verdict=verdict, sentence=sentence)


def _judge(plain: Descent, heavy: Descent) -> tuple[str, str]:
    eta, n = decimal(heavy.momentum), len(plain.rows)
    gp, gm = _gap(plain), _gap(heavy)
    moves = _steps(plain)
    where = f"after {n} step{'s' * (n != 1)}"
    if plain.diverged:
        if heavy.diverged:
            return "no_help", (f"Momentum did not help: alpha = {decimal(plain.lr)} is too large, every step overshoots "
                               f"the minimum by more than the last, and the momentum term eta·Δb = {eta}·Δb pushes in "
                               "the same overshooting direction, so both runs diverge; the cure is a smaller alpha.")
        return "damped", (f"Momentum helped: plain descent diverges (its steps change sign and grow), while the "
                          f"momentum term eta·Δb = {eta}·Δb points against each new step and damps the swing.")
    if plain.stationary_at is not None and gp <= 1e-12:
        r = plain.stationary_at
        return "no_help", (f"Momentum did not help: plain descent reaches the minimum at step {r}, where f' = 0 and it "
                           f"stops; the momentum term eta·Δb carries the iterate past the minimum instead.")
    better = gm < gp - 1e-12 * max(1.0, abs(gp))
    if not better:
        why = ("the steps change sign, and momentum adds the last step to the next, so it swings further"
               if _sign_changes(moves) else "its extra push overshoots the minimum")
        with_m = "diverging" if gm == float("inf") else f"{_g(gm)} above its minimum"
        return "no_help", (f"Momentum did not help: {where} f is {with_m} with momentum and {_g(gp)} above it "
                           f"without; {why}.")
    if _sign_changes(moves) >= max(1, len(moves) - 2):
        return "damped", (f"Momentum helped: plain descent oscillates across the minimum (its steps change sign), and "
                          f"the momentum term eta·Δb = {eta}·Δb, pointing against each new step, damps the oscillation: "
                          f"{where} f is {_g(gm)} above its minimum instead of {_g(gp)}.")
    return "accelerated", (f"Momentum helped: the plain steps all point the same way, so the momentum "
                           f"term eta·Δb = {eta}·Δb adds them up and crosses the slope faster: {where} f is "
                           f"{_g(gm)} above its minimum instead of {_g(gp)}.")


def _g(v: float) -> str:
    return f"{v:.4g}"
