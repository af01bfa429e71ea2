"""Optimisers for NumPy parameters, with a small PyTorch-like interface.

``opt.step(params, grads)`` updates the arrays of the dict ``params`` in place
from the dict ``grads`` (same names, same shapes); per-parameter state (the
last step of momentum, Adam's moments) is kept by name. ``state_dict()`` and
``load_state_dict()`` save and restore that state, for resuming a run.

Momentum, as the course writes it::

    Δb(r) = -alpha f'(b(r)) + eta Δb(r-1)      b(r+1) = b(r) + Δb(r)

This is the "velocity" form ``v = eta v - alpha g; b = b + v`` with ``v = Δb``.
PyTorch writes ``v' = eta v' + g; b = b - alpha v'``: with a constant
``alpha`` the two are the same (``v = -alpha v'``), so the iterates agree
exactly. (With a learning-rate schedule they differ slightly: the course's
form scales only the new gradient by the new rate.)

Nesterov momentum evaluates the gradient at the look-ahead point
``b + eta Δb``; with only the gradient at ``b`` available, it is written
(as in PyTorch and Sutskever et al. 2013) ``Δb = eta Δb - alpha g;
b = b + eta Δb - alpha g``.

Learning-rate schedules are callables ``epoch -> lr`` passed as ``lr``;
:func:`derivkit.train` calls ``opt.set_epoch(epoch)`` at the start of each epoch.

>>> import numpy as np
>>> params = {"b": np.array([4.0])}
>>> opt = Momentum(lr=0.01, eta=0.5)
>>> for _ in range(2):
...     opt.step(params, {"b": 10 * params["b"] - 3})
>>> params["b"].round(6)  # b2 = 3.63 - 0.01*33.3 + 0.5*(-0.37)
array([3.112])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, MutableMapping, Union

import numpy as np

from derivkit.errors import InputError, ShapeError

__all__ = [
    "Optimizer", "GD", "SGD", "Momentum", "Nesterov", "Adam",
    "Schedule", "StepDecay", "ExponentialDecay", "CosineDecay", "OPTIMIZERS", "make_optimizer",
]

LearningRate = Union[float, Callable[[int], float]]


class Schedule:
    """A learning rate that depends on the epoch: ``schedule(epoch) -> lr``."""

    def __call__(self, epoch: int) -> float:  # pragma: no cover - subclasses override
        raise NotImplementedError


@dataclass(frozen=True)
class StepDecay(Schedule):
    """``lr * gamma ** (epoch // every)``: drop by ``gamma`` every ``every`` epochs.

    >>> [StepDecay(0.1, every=2, gamma=0.5)(e) for e in range(5)]
    [0.1, 0.1, 0.05, 0.05, 0.025]
    """

    lr: float
    every: int
    gamma: float = 0.1

    def __post_init__(self) -> None:
        _positive(self.lr, "learning rate")
        if not isinstance(self.every, int) or self.every < 1:
            raise InputError(f"'every' must be a whole number of epochs of at least 1, not {self.every!r}")

    def __call__(self, epoch: int) -> float:
        return self.lr * self.gamma ** (epoch // self.every)


@dataclass(frozen=True)
class ExponentialDecay(Schedule):
    """``lr * gamma ** epoch``.

    >>> round(ExponentialDecay(0.1, gamma=0.9)(2), 6)
    0.081
    """

    lr: float
    gamma: float

    def __post_init__(self) -> None:
        _positive(self.lr, "learning rate")
        if not 0 < self.gamma <= 1:
            raise InputError(f"gamma must lie in (0, 1], not {self.gamma}")

    def __call__(self, epoch: int) -> float:
        return self.lr * self.gamma**epoch


@dataclass(frozen=True)
class CosineDecay(Schedule):
    """Half a cosine from ``lr`` down to ``lr_min`` over ``epochs``, then ``lr_min``.

    >>> s = CosineDecay(0.1, epochs=10)
    >>> s(0), round(s(5), 6), s(10)
    (0.1, 0.05, 0.0)
    """

    lr: float
    epochs: int
    lr_min: float = 0.0

    def __post_init__(self) -> None:
        _positive(self.lr, "learning rate")
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise InputError(f"epochs must be a whole number of at least 1, not {self.epochs!r}")

    def __call__(self, epoch: int) -> float:
        t = min(epoch, self.epochs) / self.epochs
        return self.lr_min + (self.lr - self.lr_min) * 0.5 * (1 + math.cos(math.pi * t))


def _positive(v: Any, what: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InputError(f"the {what} must be a number, not {v!r}") from None
    if not (f > 0 and math.isfinite(f)):
        raise InputError(f"the {what} must be a positive number, not {v!r}")
    return f


def _fraction(v: Any, what: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number, not {v!r}") from None
    if not 0 <= f < 1:
        raise InputError(f"{what} must lie in [0, 1), not {v!r}")
    return f


class Optimizer:
    """Base class: learning rate (a number or a :class:`Schedule`), epoch, step count, state."""

    slots: tuple[str, ...] = ()

    def __init__(self, lr: LearningRate = 0.01):
        if callable(lr):
            _positive(lr(0), "learning rate")
            self.lr: LearningRate = lr
        else:
            self.lr = _positive(lr, "learning rate")
        self.epoch = 0
        self.t = 0
        self.state: dict[str, dict[str, np.ndarray]] = {s: {} for s in self.slots}

    @property
    def current_lr(self) -> float:
        """The learning rate for the current epoch."""
        return float(self.lr(self.epoch)) if callable(self.lr) else float(self.lr)

    def set_epoch(self, epoch: int) -> None:
        """Tell a schedule which epoch it is."""
        self.epoch = int(epoch)

    def step(self, params: MutableMapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """Update every array of ``params`` in place from ``grads``."""
        self.t += 1
        lr = self.current_lr
        for name, g in grads.items():
            if name not in params:
                raise InputError(f"there is a gradient for {name!r} but no parameter of that name")
            p = params[name]
            if not isinstance(p, np.ndarray) or not p.flags.writeable:
                p = params[name] = np.array(p, dtype=float)
            if np.shape(g) != p.shape:
                raise ShapeError(f"the gradient of {name} has shape {np.shape(g)}, the parameter {p.shape}")
            self._update(name, p, np.asarray(g), lr)

    def _update(self, name: str, p: np.ndarray, g: np.ndarray, lr: float) -> None:  # pragma: no cover
        raise NotImplementedError

    def _slot(self, slot: str, name: str, like: np.ndarray) -> np.ndarray:
        arr = self.state[slot].get(name)
        if arr is None or arr.shape != like.shape:
            arr = self.state[slot][name] = np.zeros_like(like, dtype=float)
        return arr

    def hyper(self) -> dict[str, float]:
        """The hyper-parameters besides the learning rate."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: kind, step count, epoch, and the per-parameter state (copied)."""
        return {
            "kind": type(self).__name__,
            "t": self.t,
            "epoch": self.epoch,
            "state": {s: {n: a.copy() for n, a in d.items()} for s, d in self.state.items()},
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (of an optimiser of the same kind)."""
        kind = state.get("kind")
        if kind != type(self).__name__:
            raise InputError(f"this state belongs to a {kind} optimiser, not a {type(self).__name__}")
        self.t = int(state.get("t", 0))
        self.epoch = int(state.get("epoch", 0))
        self.state = {s: {n: np.array(a, dtype=float) for n, a in state.get("state", {}).get(s, {}).items()}
                      for s in self.slots}

    def __repr__(self) -> str:
        lr = self.lr if callable(self.lr) else f"{self.lr:g}"
        extra = "".join(f", {k}={v:g}" for k, v in self.hyper().items())
        return f"{type(self).__name__}(lr={lr}{extra})"


class GD(Optimizer):
    """Plain gradient descent: ``w <- w - alpha dL/dw``.

    >>> import numpy as np
    >>> p = {"b": np.array([4.0])}
    >>> GD(0.01).step(p, {"b": np.array([37.0])}); p["b"]
    array([3.63])
    """

    def _update(self, name: str, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        p -= lr * g


SGD = GD


class Momentum(Optimizer):
    """The course's momentum: ``Δb = -alpha f'(b) + eta Δb``, ``b <- b + Δb``.

    ``eta = 0`` is plain gradient descent.

    >>> import numpy as np
    >>> p = {"b": np.array([4.0])}
    >>> opt = Momentum(0.01, eta=0.5)
    >>> opt.step(p, {"b": np.array([37.0])}); p["b"]
    array([3.63])
    """

    slots = ("delta",)

    def __init__(self, lr: LearningRate = 0.01, eta: float = 0.9):
        super().__init__(lr)
        self.eta = _fraction(eta, "eta (the momentum)")

    def hyper(self) -> dict[str, float]:
        return {"eta": self.eta}

    def _update(self, name: str, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        d = self._slot("delta", name, p)
        d *= self.eta
        d -= lr * g
        p += d


class Nesterov(Momentum):
    """Nesterov momentum: ``Δb = eta Δb - alpha g``, ``b <- b + eta Δb - alpha g``.

    >>> import numpy as np
    >>> p = {"b": np.array([4.0])}
    >>> opt = Nesterov(0.01, eta=0.5)
    >>> opt.step(p, {"b": np.array([37.0])}); p["b"].round(6)  # 4 - 0.37 + 0.5*(-0.37)
    array([3.445])
    """

    def _update(self, name: str, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        d = self._slot("delta", name, p)
        d *= self.eta
        d -= lr * g
        p += self.eta * d - lr * g


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015) with bias correction.

    ``m = beta1 m + (1 - beta1) g``, ``v = beta2 v + (1 - beta2) g²``,
    ``w <- w - lr m̂ / (sqrt(v̂) + eps)`` with ``m̂ = m / (1 - beta1^t)``,
    ``v̂ = v / (1 - beta2^t)``. The first step moves every weight by ``lr``
    against the sign of its gradient.

    >>> import numpy as np
    >>> p = {"w": np.array([1.0, -1.0])}
    >>> Adam(0.1).step(p, {"w": np.array([3.0, -0.5])}); p["w"].round(6)
    array([ 0.9, -0.9])
    """

    slots = ("m", "v")

    def __init__(self, lr: LearningRate = 0.001, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(lr)
        self.beta1 = _fraction(beta1, "beta1")
        self.beta2 = _fraction(beta2, "beta2")
        self.eps = _positive(eps, "eps")
        self._layout: tuple | None = None

    def hyper(self) -> dict[str, float]:
        return {"beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}

    def _flatten_state(self, names: tuple[str, ...], shapes: tuple[tuple[int, ...], ...]) -> None:
        """Keep m and v in one flat vector each; the per-name state entries are views into it."""
        sizes = [int(np.prod(s)) for s in shapes]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self._slices = [(n, int(o), int(o) + k, s) for n, o, k, s in zip(names, offsets, sizes, shapes)]
        for slot in self.slots:
            flat = np.zeros(int(offsets[-1]))
            old = self.state.get(slot, {})
            new = {}
            for name, lo, hi, shape in self._slices:
                view = flat[lo:hi].reshape(shape)
                if name in old and old[name].shape == shape:
                    view[...] = old[name]
                new[name] = view
            self.state[slot] = new
            setattr(self, f"_{slot}", flat)
        self._layout = (names, shapes)

    def step(self, params: MutableMapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """Update every array of ``params`` in place; the arithmetic runs once over all parameters."""
        names = tuple(grads)
        shapes = []
        for name in names:
            if name not in params:
                raise InputError(f"there is a gradient for {name!r} but no parameter of that name")
            p = params[name]
            if not isinstance(p, np.ndarray) or not p.flags.writeable:
                p = params[name] = np.array(p, dtype=float)
            if np.shape(grads[name]) != p.shape:
                raise ShapeError(f"the gradient of {name} has shape {np.shape(grads[name])}, the parameter {p.shape}")
            shapes.append(p.shape)
        self.t += 1
        if not names:
            return
        if self._layout != (names, tuple(shapes)):
            self._flatten_state(names, tuple(shapes))
        lr = self.current_lr
        b1, b2 = self.beta1, self.beta2
        c1, inv_sqrt_c2 = 1 - b1**self.t, 1 / math.sqrt(1 - b2**self.t)
        g = np.concatenate([np.ravel(grads[n]) for n in names]).astype(float, copy=False)
        m, v = self._m, self._v
        tmp = g * g
        g *= 1 - b1
        m *= b1
        m += g
        tmp *= 1 - b2
        v *= b2
        v += tmp
        np.sqrt(v, out=tmp)
        tmp *= inv_sqrt_c2
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= lr / c1
        for name, lo, hi, shape in self._slices:
            params[name] -= tmp[lo:hi].reshape(shape)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self._layout = None


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "gd": GD, "sgd": GD, "momentum": Momentum, "nesterov": Nesterov, "adam": Adam,
}


def make_optimizer(name: str, lr: LearningRate | None = None, **hyper: float) -> Optimizer:
    """An optimiser by name (``gd``, ``sgd``, ``momentum``, ``nesterov``, ``adam``).

    >>> make_optimizer("adam", lr=0.01)
    Adam(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-08)
    """
    cls = OPTIMIZERS.get(str(name).lower())
    if cls is None:
        raise InputError(f"unknown optimiser {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    kwargs = dict(hyper)
    if lr is not None:
        kwargs["lr"] = lr
    return cls(**kwargs)
