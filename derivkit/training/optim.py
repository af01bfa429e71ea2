"""Optimisers for NumPy parameters, with PyTorch's interface and keyword names.

``opt.step(params, grads)`` updates the arrays of the dict ``params`` in place
from the dict ``grads`` (same names, same shapes); per-parameter state (the
last step of momentum, Adam's moments) is kept by name. ``state_dict()`` and
``load_state_dict()`` save and restore that state, for resuming a run.

The keywords are PyTorch's: ``GD(lr)``, ``SGD(lr, momentum=0, nesterov=False,
weight_decay=0)``, ``Momentum(lr, momentum=0.9)``, ``Nesterov(lr, momentum=0.9)``,
``Adam(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)``, ``AdamW(...)``. The
course's names are accepted too: ``eta`` for the momentum, ``beta1``/``beta2``
for Adam's betas. :func:`derivkit.descend` and the command line
(``--lr``, ``--momentum``, ``--weight-decay``) use the same names.

Momentum, as the course writes it::

    Δb(r) = -alpha f'(b(r)) + eta Δb(r-1)      b(r+1) = b(r) + Δb(r)

This is the "velocity" form ``v = eta v - alpha g; b = b + v`` with ``v = Δb``.
PyTorch writes ``v' = eta v' + g; b = b - alpha v'`` (:class:`SGD` with
``momentum``): with a constant ``alpha`` the two are the same (``v = -alpha v'``),
so the iterates agree exactly. (With a learning-rate schedule they differ
slightly: the course's form scales only the new gradient by the new rate.)

Nesterov momentum evaluates the gradient at the look-ahead point
``b + eta Δb``; with only the gradient at ``b`` available, it is written
(as in PyTorch and Sutskever et al. 2013) ``Δb = eta Δb - alpha g;
b = b + eta Δb - alpha g``.

Weight decay is PyTorch's: :class:`SGD`, :class:`Adam` and the others add
``weight_decay * w`` to the gradient (L2 regularisation); :class:`AdamW`
shrinks the weights by ``lr * weight_decay`` apart from Adam's step.

Learning-rate schedules are callables ``epoch -> lr`` passed as ``lr``;
:func:`derivkit.train` calls ``opt.set_epoch(epoch)`` at the start of each epoch.

>>> import numpy as np
>>> params = {"b": np.array([4.0])}
>>> opt = Momentum(lr=0.01, momentum=0.5)
>>> for _ in range(2):
...     opt.step(params, {"b": 10 * params["b"] - 3})
>>> params["b"].round(6)  # b2 = 3.63 - 0.01*33.3 + 0.5*(-0.37)
array([3.112])
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, MutableMapping, Union

import numpy as np

from derivkit.errors import InputError, ShapeError

__all__ = [
    "Optimizer", "GD", "SGD", "Momentum", "Nesterov", "Adam", "AdamW",
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


def _rate(v: Any, what: str) -> float:
    """A weight decay: a finite number of 0 or more."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be a number, not {v!r}") from None
    if not (f >= 0 and math.isfinite(f)):
        raise InputError(f"{what} must be a number of 0 or more, not {v!r}")
    return f


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, tuple):
        return "(" + ", ".join(_fmt(x) for x in v) + ")"
    if isinstance(v, (int, float)):
        return f"{v:g}"
    return repr(v)


class Optimizer:
    """Base class: learning rate (a number or a :class:`Schedule`), weight decay, epoch, step count, state.

    ``weight_decay`` is PyTorch's (L2) weight decay: the gradient used is
    ``g + weight_decay * w``, as if ``(weight_decay / 2) |w|²`` were added to the loss.
    """

    slots: tuple[str, ...] = ()

    def __init__(self, lr: LearningRate = 0.01, weight_decay: float = 0.0):
        if callable(lr):
            _positive(lr(0), "learning rate")
            self.lr: LearningRate = lr
        else:
            self.lr = _positive(lr, "learning rate")
        self.weight_decay = _rate(weight_decay, "weight_decay")
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

    def _checked(self, params: MutableMapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> list[str]:
        """The names to update; every parameter becomes a writable float array of its gradient's shape."""
        for name, g in grads.items():
            if name not in params:
                raise InputError(f"there is a gradient for {name!r} but no parameter of that name")
            p = params[name]
            if not isinstance(p, np.ndarray) or not p.flags.writeable:
                p = params[name] = np.array(p, dtype=float)
            if np.shape(g) != p.shape:
                raise ShapeError(f"the gradient of {name} has shape {np.shape(g)}, the parameter {p.shape}")
        return list(grads)

    def step(self, params: MutableMapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """Update every array of ``params`` in place from ``grads``."""
        names = self._checked(params, grads)
        self.t += 1
        lr = self.current_lr
        for name in names:
            p = params[name]
            g = np.asarray(grads[name], dtype=float)
            if self.weight_decay:
                g = g + self.weight_decay * p
            self._update(name, p, g, lr)

    def _update(self, name: str, p: np.ndarray, g: np.ndarray, lr: float) -> None:  # pragma: no cover
        raise NotImplementedError

    def _slot(self, slot: str, name: str, like: np.ndarray) -> np.ndarray:
        arr = self.state[slot].get(name)
        if arr is None or arr.shape != like.shape:
            arr = self.state[slot][name] = np.zeros_like(like, dtype=float)
        return arr

    def hyper(self) -> dict[str, Any]:
        """The hyper-parameters besides the learning rate (by their PyTorch keyword names)."""
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
        hyper = self.hyper()
        if self.weight_decay:
            hyper["weight_decay"] = self.weight_decay
        extra = "".join(f", {k}={_fmt(v)}" for k, v in hyper.items())
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


class SGD(Optimizer):
    """Stochastic gradient descent exactly as ``torch.optim.SGD`` defines it.

    With ``g = dL/dw + weight_decay * w``: without momentum ``w <- w - lr g``;
    with momentum ``buf = g`` at the first step, then ``buf = momentum * buf +
    (1 - dampening) g``, and ``w <- w - lr buf`` (``nesterov=True``:
    ``w <- w - lr (g + momentum * buf)``). For a constant learning rate and no
    dampening this is the course's :class:`Momentum` (and :class:`Nesterov`);
    with a schedule PyTorch's form scales the whole buffer by the new rate.

    >>> import numpy as np
    >>> p = {"b": np.array([4.0])}
    >>> opt = SGD(0.01, momentum=0.5)
    >>> for _ in range(2):
    ...     opt.step(p, {"b": 10 * p["b"] - 3})
    >>> p["b"].round(6)  # buf = 37, then 0.5*37 + 33.3 = 51.8: b = 3.63 - 0.518
    array([3.112])
    >>> SGD(0.1, momentum=0.9, nesterov=True, weight_decay=1e-4)
    SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.0001)
    """

    slots = ("momentum_buffer",)

    def __init__(self, lr: LearningRate = 0.01, momentum: float = 0.0, *, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.momentum = _fraction(momentum, "the momentum")
        self.dampening = _fraction(dampening, "dampening")
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum == 0 or self.dampening != 0):
            raise InputError("Nesterov momentum needs a momentum above 0 and no dampening")

    def hyper(self) -> dict[str, Any]:
        h: dict[str, Any] = {}
        if self.momentum:
            h["momentum"] = self.momentum
        if self.dampening:
            h["dampening"] = self.dampening
        if self.nesterov:
            h["nesterov"] = True
        return h

    def _update(self, name: str, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        if self.momentum:
            buf = self.state["momentum_buffer"].get(name)
            if buf is None or buf.shape != p.shape:
                buf = self.state["momentum_buffer"][name] = np.array(g, dtype=float)
            else:
                buf *= self.momentum
                buf += (1 - self.dampening) * g
            g = g + self.momentum * buf if self.nesterov else buf
        p -= lr * g


class Momentum(Optimizer):
    """The course's momentum: ``Δb = -alpha f'(b) + eta Δb``, ``b <- b + Δb``.

    ``momentum`` is the course's ``eta`` (either keyword is accepted); ``momentum=0``
    is plain gradient descent.

    >>> import numpy as np
    >>> p = {"b": np.array([4.0])}
    >>> opt = Momentum(0.01, momentum=0.5)
    >>> opt.step(p, {"b": np.array([37.0])}); p["b"]
    array([3.63])
    >>> Momentum(lr=0.01, eta=0.5)
    Momentum(lr=0.01, momentum=0.5)
    >>> Momentum(0.01, momentum=0.9, eta=0.5)
    Traceback (most recent call last):
    ...
    derivkit.errors.InputError: give momentum or eta (the same thing), not both (momentum=0.9, eta=0.5)
    """

    slots = ("delta",)

    def __init__(self, lr: LearningRate = 0.01, momentum: float | None = None, *, eta: float | None = None,
                 weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        if eta is not None and momentum is not None:
            raise InputError(f"give momentum or eta (the same thing), not both (momentum={momentum!r}, eta={eta!r})")
        value = eta if eta is not None else 0.9 if momentum is None else momentum
        self.momentum = _fraction(value, "the momentum (eta)")

    @property
    def eta(self) -> float:
        """The course's name for :attr:`momentum`."""
        return self.momentum

    def hyper(self) -> dict[str, Any]:
        return {"momentum": self.momentum}

    def _update(self, name: str, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        d = self._slot("delta", name, p)
        d *= self.momentum
        d -= lr * g
        p += d


class Nesterov(Momentum):
    """Nesterov momentum: ``Δb = eta Δb - alpha g``, ``b <- b + eta Δb - alpha g``.

    >>> import numpy as np
    >>> p = {"b": np.array([4.0])}
    >>> opt = Nesterov(0.01, momentum=0.5)
    >>> opt.step(p, {"b": np.array([37.0])}); p["b"].round(6)  # 4 - 0.37 + 0.5*(-0.37)
    array([3.445])
    """

    def _update(self, name: str, p: np.ndarray, g: np.ndarray, lr: float) -> None:
        d = self._slot("delta", name, p)
        d *= self.momentum
        d -= lr * g
        p += self.momentum * d - lr * g


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015) with bias correction, as ``torch.optim.Adam`` defines it.

    With ``g = dL/dw + weight_decay * w``: ``m = beta1 m + (1 - beta1) g``,
    ``v = beta2 v + (1 - beta2) g²``, ``w <- w - lr m̂ / (sqrt(v̂) + eps)`` with
    ``m̂ = m / (1 - beta1^t)``, ``v̂ = v / (1 - beta2^t)``. ``betas`` is the pair
    ``(beta1, beta2)``; ``beta1=`` and ``beta2=`` are accepted too. The first step
    moves every weight by ``lr`` against the sign of its gradient.

    >>> import numpy as np
    >>> p = {"w": np.array([1.0, -1.0])}
    >>> Adam(0.1).step(p, {"w": np.array([3.0, -0.5])}); p["w"].round(6)
    array([ 0.9, -0.9])
    >>> Adam(0.01, betas=(0.8, 0.99))
    Adam(lr=0.01, betas=(0.8, 0.99), eps=1e-08)
    """

    slots = ("m", "v")

    def __init__(self, lr: LearningRate = 0.001, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, *, beta1: float | None = None, beta2: float | None = None):
        super().__init__(lr, weight_decay)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise InputError(f"betas must be a pair (beta1, beta2), not {betas!r}") from None
        self.beta1 = _fraction(b1 if beta1 is None else beta1, "beta1")
        self.beta2 = _fraction(b2 if beta2 is None else beta2, "beta2")
        self.eps = _positive(eps, "eps")
        self._layout: tuple[tuple[str, ...], tuple[tuple[int, ...], ...]] | None = None
        self._slices: list[tuple[str, int, int, tuple[int, ...]]] = []
        self._m = self._v = np.zeros(0)  # the moments of all parameters, one flat vector each

    @property
    def betas(self) -> tuple[float, float]:
        """``(beta1, beta2)``."""
        return (self.beta1, self.beta2)

    def hyper(self) -> dict[str, Any]:
        return {"betas": self.betas, "eps": self.eps}

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
            if slot == "m":
                self._m = flat
            else:
                self._v = flat
        self._layout = (names, shapes)

    def _decay(self, params: MutableMapping[str, np.ndarray], names: tuple[str, ...], g: np.ndarray, lr: float) -> None:
        """Adam's weight decay: added to the gradient (L2)."""
        if self.weight_decay:
            g += self.weight_decay * np.concatenate([np.ravel(params[n]) for n in names])

    def step(self, params: MutableMapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> None:
        """Update every array of ``params`` in place; the arithmetic runs once over all parameters."""
        names = tuple(self._checked(params, grads))
        self.t += 1
        if not names:
            return
        shapes = tuple(params[n].shape for n in names)
        if self._layout != (names, shapes):
            self._flatten_state(names, shapes)
        lr = self.current_lr
        b1, b2 = self.beta1, self.beta2
        c1, inv_sqrt_c2 = 1 - b1**self.t, 1 / math.sqrt(1 - b2**self.t)
        g = np.concatenate([np.ravel(grads[n]) for n in names]).astype(float, copy=False)
        self._decay(params, names, g, lr)
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


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019), as ``torch.optim.AdamW``.

    Each step first shrinks the weights, ``w <- w (1 - lr weight_decay)``, then
    takes Adam's step with the plain gradient. The default ``weight_decay`` is
    PyTorch's, 0.01.

    >>> import numpy as np
    >>> p = {"w": np.array([2.0])}
    >>> AdamW(0.1, weight_decay=0.5).step(p, {"w": np.array([0.0])}); p["w"]  # 2 (1 - 0.05)
    array([1.9])
    """

    def __init__(self, lr: LearningRate = 0.001, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.01, *, beta1: float | None = None, beta2: float | None = None):
        super().__init__(lr, betas, eps, weight_decay, beta1=beta1, beta2=beta2)

    def _decay(self, params: MutableMapping[str, np.ndarray], names: tuple[str, ...], g: np.ndarray, lr: float) -> None:
        """Decoupled weight decay: the weights shrink, the gradient is left alone."""
        if self.weight_decay:
            for n in names:
                params[n] *= 1 - lr * self.weight_decay


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "gd": GD, "sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "adam": Adam, "adamw": AdamW,
}


def make_optimizer(name: str, lr: LearningRate | None = None, **hyper: Any) -> Optimizer:
    """An optimiser by name (``gd``, ``sgd``, ``momentum``, ``nesterov``, ``adam``, ``adamw``).

    ``hyper`` are the optimiser's keywords (``momentum``, ``weight_decay``, ``betas``, ...).

    >>> make_optimizer("adam", lr=0.01)
    Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-08)
    >>> make_optimizer("sgd", lr=0.1, momentum=0.9, weight_decay=5e-4)
    SGD(lr=0.1, momentum=0.9, weight_decay=0.0005)
    """
    cls = OPTIMIZERS.get(str(name).lower())
    if cls is None:
        raise InputError(f"unknown optimiser {name!r}; choose one of {', '.join(OPTIMIZERS)}")
    kwargs = dict(hyper)
    if lr is not None:
        kwargs["lr"] = lr
    try:
        return cls(**kwargs)
    except TypeError:
        accepted = ", ".join(k for k in inspect.signature(cls).parameters if k != "lr")
        unknown = ", ".join(sorted(k for k in hyper if k not in inspect.signature(cls).parameters))
        raise InputError(f"the {cls.__name__} optimiser takes no {unknown or 'such'} keyword; "
                         f"it takes lr and {accepted}") from None
