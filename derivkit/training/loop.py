"""The training loop: (minibatch) gradient descent on a compiled graph.

:func:`train` takes a :class:`derivkit.Graph` (compiled on the spot) or a
:class:`derivkit.CompiledGraph`, whose ``fn(params, data) -> (loss, grads)``
gives the loss and its gradients from one call. Each epoch shuffles the
training examples (with a generator seeded by ``seed`` and the epoch number,
so a run is reproducible and a resumed run continues exactly as an
uninterrupted one), cuts them into batches of ``batch_size`` (all of them when
``None``: full-batch gradient descent) and lets the optimiser take one step per
batch. The gradient of a batch is the mean over its examples when the loss is
a mean (``mse``, ``cross_entropy``): that is minibatch SGD as the course
writes it, ``L = 1/N Σ L_i``.

The run stops early when

* the loss or a gradient is not a finite number (``diverged``, with the
  reason; the parameters before the bad step are kept),
* the loss blows up without overflowing (``diverged``; see :class:`Divergence`):
  it grew by a large factor within a few epochs, or stayed far above its best,
  and is worse than where the run started,
* the validation loss (the training loss when there is no validation data)
  has not improved for ``patience`` epochs (early stopping),
* the user presses Ctrl-C (``interrupted``).

In every case the :class:`History` keeps what was recorded so far, the last
parameters and the best ones (lowest validation loss, else training loss).
A run inside a :func:`derivkit.budget.task` whose deadline passes stops the same
way (``stopped_early``, with the reason), keeping its history.

Saved runs (:meth:`History.save`, an ``.npz`` of plain arrays and JSON
metadata, never pickles) are written to a temporary file and renamed, so an
interrupted save leaves no truncated file; :meth:`History.load` and
:func:`load_params` check what they read and raise
:class:`~derivkit.errors.InputError` naming the file and the problem.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, cast

import numpy as np

from derivkit import budget
from derivkit.errors import InputError, ShapeError
from derivkit.renderable import Count, Renderable, brief_repr
from derivkit.training.datasets import Data, as_data, labels, train_test_split
from derivkit.training.optim import Optimizer, make_optimizer

__all__ = ["train", "History", "Divergence", "evaluate", "load_params", "is_classification"]

Params = dict[str, np.ndarray]


@dataclass(frozen=True)
class Divergence:
    """When :func:`train` stops a run whose loss blows up while staying finite.

    The training loss of an epoch counts as diverging when it is above the loss at
    the start (the first batch, before any step) and either

    * it is at least ``factor`` times the lowest loss of the ``window`` epochs
      before it (the start included): it grew by that factor within the window, or
    * it and the ``window - 1`` epochs before it are all at least ``factor`` times
      the best loss so far: it stays far above its best.

    Pass ``divergence=None`` to :func:`train` to turn the test off.

    >>> rule = Divergence()
    >>> rule.reason(start=2.3, losses=[1.9, 1.2, 0.8])  # learning: nothing to report
    >>> print(rule.reason(start=2.3, losses=[87000.0]))
    the training loss grew from 2.3 to 8.7e+04 (over 10 times in 1 epoch), above where it started
    """

    factor: float = 10.0
    window: int = 5

    def __post_init__(self) -> None:
        if isinstance(self.factor, bool) or not isinstance(self.factor, (int, float)) or not self.factor > 1:
            raise InputError(f"the divergence factor must be a number above 1, not {self.factor!r}")
        if isinstance(self.window, bool) or not isinstance(self.window, int) or self.window < 1:
            raise InputError(f"the divergence window must be a whole number of at least 1, not {self.window!r}")

    def reason(self, start: float, losses: list[float]) -> str | None:
        """Why the run diverges after its last epoch, or None. ``start`` is the loss before any step."""
        if not losses or not losses[-1] > start:
            return None
        last, k = losses[-1], self.window
        history = [start] + list(losses[:-1])
        recent = history[-k:]
        low = min(recent)
        if last >= self.factor * low:
            span = len(recent) - recent[::-1].index(low)
            epochs = "1 epoch" if span == 1 else f"{span} epochs"
            return (f"the training loss grew from {low:.3g} to {last:.3g} (over {self.factor:g} times "
                    f"in {epochs}), above where it started")
        best = min(history + [last])
        tail = losses[-k:]
        if len(tail) == k and best > 0 and all(v >= self.factor * best and v > start for v in tail):
            return (f"the training loss stayed over {self.factor:g} times its best ({best:.3g}) for {k} epochs "
                    f"(now {last:.3g}), above where it started")
        return None


@dataclass(frozen=True)
class History(Renderable):
    """What a training run recorded, one entry per epoch.

    ``losses`` is the mean training loss of each epoch (over its batches,
    before each step), ``val_losses`` the loss on the validation data after
    each epoch (empty without validation data), ``metrics`` maps a metric name
    (``accuracy``, ``val_accuracy``) to its values per epoch. ``params`` are
    the parameters at the end, ``best_params`` those of ``best_epoch``.
    ``optimizer_state`` resumes the optimiser (see :func:`train`'s ``resume``).
    ``start_loss`` is the loss of the first batch before any step (the reference
    of the divergence test, see :class:`Divergence`).
    """

    losses: tuple[float, ...]
    val_losses: tuple[float, ...] = ()
    metrics: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    params: Mapping[str, np.ndarray] = field(default_factory=dict)
    best_params: Mapping[str, np.ndarray] = field(default_factory=dict)
    best_epoch: int = 0
    diverged: bool = False
    reason: str = ""
    stopped_early: bool = False
    interrupted: bool = False
    optimizer: str = ""
    optimizer_state: Mapping[str, Any] = field(default_factory=dict)
    batch_size: int | None = None
    seed: int = 0
    seconds: float = 0.0
    start_loss: float = math.nan

    def __repr__(self) -> str:
        last = {"final_loss": self.final_loss}
        if self.val_losses:
            last["val_loss"] = self.val_losses[-1]
        last.update({k: v[-1] for k, v in self.metrics.items() if v})
        flags = {k: True for k in ("diverged", "stopped_early", "interrupted") if getattr(self, k)}
        return brief_repr(self, epochs=self.epochs, **last, optimizer=Count(self.optimizer or "None"),
                          **flags, seconds=self.seconds)

    @property
    def epochs(self) -> int:
        """The number of epochs completed."""
        return len(self.losses)

    @property
    def final_loss(self) -> float:
        """The training loss of the last epoch (``nan`` before any)."""
        return self.losses[-1] if self.losses else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "epochs": self.epochs,
            "losses": list(self.losses),
            "val_losses": list(self.val_losses),
            "metrics": {k: list(v) for k, v in self.metrics.items()},
            "best_epoch": self.best_epoch,
            "diverged": self.diverged,
            "reason": self.reason,
            "stopped_early": self.stopped_early,
            "interrupted": self.interrupted,
            "optimizer": self.optimizer,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "seconds": self.seconds,
            "start_loss": self.start_loss if math.isfinite(self.start_loss) else None,
            "param_shapes": {k: list(np.shape(v)) for k, v in self.params.items()},
        }

    def save(self, path: str | Path) -> Path:
        """Save parameters, best parameters, optimiser state and the curves to ``path`` (``.npz``).

        The file is written next to ``path`` under a temporary name and renamed when
        complete, so an interrupted save never leaves a truncated file behind. A path
        that cannot be written raises :class:`~derivkit.errors.InputError`.

        >>> import tempfile, numpy as np
        >>> h = History(losses=(1.0, 0.5), params={"w": np.array([[0.5]])})
        >>> p = h.save(tempfile.mkdtemp() + "/run.npz")
        >>> History.load(p).params["w"].tolist(), History.load(p).losses
        ([[0.5]], (1.0, 0.5))
        """
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
        arrays: dict[str, np.ndarray] = {}
        for prefix, d in (("param", self.params), ("best", self.best_params)):
            for name, a in d.items():
                arrays[f"{prefix}/{name}"] = np.asarray(a)
        for slot, d in self.optimizer_state.get("state", {}).items():
            for name, a in d.items():
                arrays[f"optim/{slot}/{name}"] = np.asarray(a)
        arrays["losses"] = np.asarray(self.losses, dtype=float)
        arrays["val_losses"] = np.asarray(self.val_losses, dtype=float)
        for k, v in self.metrics.items():
            arrays[f"metric/{k}"] = np.asarray(v, dtype=float)
        meta = {
            "best_epoch": self.best_epoch, "diverged": self.diverged, "reason": self.reason,
            "stopped_early": self.stopped_early, "interrupted": self.interrupted,
            "optimizer": self.optimizer, "batch_size": self.batch_size, "seed": self.seed,
            "seconds": self.seconds,
            "start_loss": self.start_loss if math.isfinite(self.start_loss) else None,
            "optimizer_meta": {k: v for k, v in self.optimizer_state.items() if k != "state"},
        }
        arrays["meta"] = np.array(json.dumps(meta))
        _write_npz(path, arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "History":
        """Read a file written by :meth:`save`.

        Anything else (an empty, truncated or damaged file, a file of pickled
        objects, metadata of the wrong form) raises :class:`~derivkit.errors.InputError`
        saying what is wrong with the file.
        """
        files = _read_npz(path, "a saved training run")
        if "meta" not in files:
            raise InputError(f"{path} is not a file saved by History.save (no 'meta' entry)")
        meta = _read_meta(files.pop("meta"), path)
        params: Params = {}
        best: Params = {}
        state: dict[str, dict[str, np.ndarray]] = {}
        metrics: dict[str, tuple[float, ...]] = {}
        curves: dict[str, tuple[float, ...]] = {}
        for key, a in files.items():
            kind, _, rest = key.partition("/")
            if kind in ("param", "best", "optim"):
                _numeric(a, key, path)
            if kind == "param":
                params[rest] = a
            elif kind == "best":
                best[rest] = a
            elif kind == "optim":
                slot, _, name = rest.partition("/")
                state.setdefault(slot, {})[name] = a
            elif kind == "metric":
                metrics[rest] = _curve(a, key, path)
            elif key in ("losses", "val_losses"):
                curves[key] = _curve(a, key, path)
        losses = curves.get("losses", ())
        for name, values in list(metrics.items()) + [("val_losses", curves.get("val_losses", ()))]:
            if len(values) > len(losses):
                raise InputError(f"{path} is damaged: {name} has {len(values)} values for {len(losses)} epochs")
        if meta["best_epoch"] > len(losses):
            raise InputError(f"{path} is damaged: its best epoch {meta['best_epoch']} is past its {len(losses)} epochs")
        opt_state = dict(meta.pop("optimizer_meta", {}))
        if opt_state:
            opt_state["state"] = state
        return cls(losses=losses, val_losses=curves.get("val_losses", ()), metrics=metrics, params=params,
                   best_params=best, optimizer_state=opt_state, **meta)

    def plot(self, path: str | Path | None = None, *, log: bool | None = None):
        """Draw the loss curves (and accuracy); save to ``path`` (PNG) when given. Returns the figure."""
        from derivkit.training.plot import plot_history

        return plot_history(self, path, log=log)


def load_params(path: str | Path) -> Params:
    """The parameters saved in ``path``: a :meth:`History.save` file or a plain ``.npz`` of arrays.

    The file is checked as :meth:`History.load` checks it; every parameter must be
    an array of numbers.

    >>> import tempfile
    >>> path = History(losses=(1.0,), params={"W1": np.ones((2, 1))}).save(tempfile.mkdtemp() + "/run")
    >>> path.name, load_params(path)["W1"].shape
    ('run.npz', (2, 1))
    """
    files = _read_npz(path, "parameters")
    if "meta" in files:
        params = History.load(path).params
    else:
        params = {k: _numeric(v, k, path) for k, v in files.items()}
    if not params:
        raise InputError(f"{path} holds no parameters")
    return dict(params)


def _write_npz(path: Path, arrays: Mapping[str, np.ndarray]) -> None:
    """``np.savez`` to a temporary file beside ``path``, renamed over it once complete."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, **cast(dict[str, Any], arrays))  # keys are ours: none is "allow_pickle"
        except BaseException:
            with _suppress_os():
                os.unlink(tmp)
            raise
        os.replace(tmp, path)
    except OSError as err:
        with _suppress_os():
            os.unlink(tmp)
        raise InputError(f"cannot save the training run to {path}: {err.strerror or err}") from None


class _suppress_os:
    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        return kind is not None and issubclass(kind, OSError)


def _read_npz(path: str | Path, what: str) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file (pickles refused), or an InputError saying what is wrong."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"cannot read {what} from {path}: {'it is a folder' if p.is_dir() else 'no such file'}")
    if p.stat().st_size == 0:
        raise InputError(f"cannot read {what} from {path}: the file is empty")
    try:
        with zipfile.ZipFile(p) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        raise InputError(f"cannot read {what} from {path}: it is not an .npz file, or it is truncated or damaged") from None
    budget.refuse_above("memory", unpacked, f"unpacking {path} ({unpacked:,} bytes)", part=str(path))
    try:
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except ValueError as err:
        if "pickle" in str(err).lower() or "object arrays" in str(err).lower():
            raise InputError(f"{path} holds pickled Python objects, which derivkit does not load "
                             "(loading them could run code)") from None
        raise InputError(f"cannot read {what} from {path}: it is damaged ({err})") from None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError, NotImplementedError, TypeError,
            RuntimeError, OverflowError) as err:
        raise InputError(f"cannot read {what} from {path}: it is truncated or damaged ({err})") from None


#: The metadata of a saved run: each key with the types it may have (None: optional).
_META_TYPES: dict[str, tuple[type, ...]] = {
    "best_epoch": (int,), "diverged": (bool,), "reason": (str,), "stopped_early": (bool,),
    "interrupted": (bool,), "optimizer": (str,), "batch_size": (int, type(None)), "seed": (int,),
    "seconds": (int, float), "start_loss": (int, float, type(None)), "optimizer_meta": (dict,),
}
_META_REQUIRED = ("best_epoch", "diverged", "reason", "stopped_early", "interrupted", "optimizer",
                  "batch_size", "seed", "seconds")


def _read_meta(entry: np.ndarray, path: str | Path) -> dict[str, Any]:
    if entry.shape != () or entry.dtype.kind != "U":
        raise InputError(f"{path} is damaged: its metadata is not text")
    try:
        meta = json.loads(str(entry))
    except (ValueError, RecursionError):
        raise InputError(f"{path} is damaged: its metadata is not valid JSON") from None
    if not isinstance(meta, dict):
        raise InputError(f"{path} is damaged: its metadata is not a JSON object")
    out: dict[str, Any] = {}
    for key in _META_REQUIRED:
        if key not in meta:
            raise InputError(f"{path} is damaged: its metadata has no {key!r}")
    for key, types in _META_TYPES.items():
        if key not in meta:
            continue
        value = meta[key]
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
        if ok and isinstance(value, (int, float)) and not isinstance(value, bool) and key != "start_loss":
            ok = value >= 0 and math.isfinite(value) and (key != "batch_size" or value >= 1)
        if not ok:
            raise InputError(f"{path} is damaged: its metadata {key!r} is {value!r}")
        out[key] = value
    om = out.get("optimizer_meta", {})
    for key, types in (("kind", (str,)), ("t", (int,)), ("epoch", (int,))):
        if key in om and (not isinstance(om[key], types) or isinstance(om[key], bool)
                          or (key != "kind" and om[key] < 0)):
            raise InputError(f"{path} is damaged: its optimiser state {key!r} is {om[key]!r}")
    out["start_loss"] = math.nan if out.get("start_loss") is None else float(out["start_loss"])
    return out


def _numeric(a: np.ndarray, key: str, path: str | Path) -> np.ndarray:
    if a.dtype.kind not in "fiub":
        raise InputError(f"{path} is damaged: {key!r} is not an array of numbers (dtype {a.dtype})")
    return a


def _curve(a: np.ndarray, key: str, path: str | Path) -> tuple[float, ...]:
    if a.ndim != 1 or a.dtype.kind not in "fiu":
        raise InputError(f"{path} is damaged: {key!r} is not a list of numbers")
    return tuple(float(x) for x in a)


def is_classification(Y: np.ndarray) -> bool:
    """Whether targets look like classes: a 0/1 column, or one-hot rows.

    >>> is_classification(np.array([[0.0], [1.0]])), is_classification(np.array([[3.0], [4.0]]))
    (True, False)
    """
    Y = np.asarray(Y)
    if Y.ndim != 2 or not np.isin(Y, (0.0, 1.0)).all():
        return False
    return Y.shape[1] == 1 or bool(np.all(Y.sum(axis=1) == 1))


def _compiled(graph: Any, backend: str | None = None, devices: int | None = None) -> Any:
    if callable(getattr(graph, "fn", None)):
        if backend not in (None, getattr(graph, "backend", backend)) or devices not in (None, getattr(graph, "devices", devices)):
            raise InputError("this graph is already compiled; give backend= and devices= to compile(), or pass the Graph")
        return graph
    if callable(getattr(graph, "compile", None)):
        return graph.compile(backend=backend or "numpy", devices=devices) if backend or devices else graph.compile()
    raise InputError(f"train needs a Graph or a CompiledGraph, not {type(graph).__name__}")


#: Without a pass that also gives the output, the training accuracy is measured on at most this many examples.
METRIC_SAMPLE = 1024


def _fn(compiled: Any) -> Callable[[Params, Data], tuple[float, Mapping[str, np.ndarray]]]:
    return compiled.fn


def evaluate(compiled: Any, params: Mapping[str, np.ndarray], data: Any, *, accuracy: bool | None = None) -> dict[str, float]:
    """The loss on ``data`` and, for classification targets, the accuracy.

    ``compiled`` is a CompiledGraph (or a Graph, compiled on the spot).

    >>> from derivkit import nn
    >>> from derivkit.training.datasets import xor
    >>> net = nn.mlp([2, 1], activation="identity", output="sigmoid", loss="mse").compile()
    >>> params = {"W1": np.zeros((2, 1)), "b1": np.zeros((1, 1))}
    >>> evaluate(net, params, xor())  # every output is sigmoid(0) = 0.5
    {'loss': 0.25, 'accuracy': 0.5}
    """
    compiled = _compiled(compiled)
    d = as_data(data)
    loss, _ = _fn(compiled)(dict(params), d)
    out = {"loss": float(loss)}
    if accuracy is None:
        accuracy = "X" in d and "Y" in d and is_classification(d["Y"])
    if accuracy:
        pred = np.asarray(compiled.predict(dict(params), d["X"]))
        out["accuracy"] = float(np.mean(labels(pred) == labels(d["Y"])))
    return out


def _initial_params(compiled: Any, params: Mapping[str, Any] | None, seed: int) -> Params:
    shapes = dict(getattr(compiled, "param_shapes", {}) or {})
    if params is None:
        return {k: np.array(v, dtype=float) for k, v in compiled.init_params(seed).items()}
    out = {k: np.array(v, dtype=float) for k, v in params.items()}
    for name, shape in shapes.items():
        if name not in out:
            raise InputError(f"no initial value given for the parameter {name}")
        if tuple(out[name].shape) != tuple(shape):
            raise ShapeError(f"the initial value of {name} has shape {out[name].shape}, the graph needs {tuple(shape)}")
    unknown = sorted(set(out) - set(shapes)) if shapes else []
    if unknown:
        raise InputError(f"{unknown[0]!r} is not a parameter of the graph (parameters: {', '.join(shapes)})")
    return out


def _progress(progress: bool | None, epochs: int, batches: int):
    """A tqdm bar over the epochs, or ``None`` (off when not a terminal, or tqdm missing)."""
    if progress is False:
        return None
    if progress is None and not (epochs * batches >= 2000 and sys.stderr.isatty()):
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=epochs, unit="epoch", leave=False)


def _non_finite(x: float) -> str:
    return "nan" if math.isnan(x) else "infinite"


def _finite_grads(grads: Mapping[str, np.ndarray]) -> str | None:
    for name, g in grads.items():
        if not math.isfinite(float(np.sum(g))):  # nan and inf propagate into the sum
            return name
    return None


def train(
    graph: Any,
    data: Any,
    optimizer: Optimizer | str = "adam",
    epochs: int = 100,
    batch_size: int | None = None,
    seed: int = 0,
    *,
    lr: float | None = None,
    params: Mapping[str, Any] | None = None,
    validation: float | Any = None,
    patience: int | None = None,
    metrics: bool | None = None,
    progress: bool | None = None,
    resume: History | None = None,
    callback: Callable[[int, dict[str, float]], Any] | None = None,
    divergence: Divergence | None = Divergence(),
    backend: str | None = None,
    devices: int | None = None,
) -> History:
    """Train ``graph`` on ``data`` for ``epochs`` epochs and return the :class:`History`.

    ``data`` is ``{"X": ..., "Y": ...}`` (the graph's inputs by name) or a pair
    ``(X, Y)``. ``optimizer`` is an optimiser (:mod:`derivkit.optim`) or a name
    (``"gd"``, ``"momentum"``, ``"nesterov"``, ``"adam"``, with ``lr``).
    ``batch_size=None`` is full-batch gradient descent; otherwise minibatch SGD,
    shuffled each epoch. ``validation`` is a fraction of the data to hold out
    (split with ``seed``) or validation data. ``patience`` turns on early
    stopping. ``metrics`` (default: when the targets are classes) records the
    accuracy. ``params`` gives the initial parameters (default
    ``init_params(seed)``); ``resume`` continues a previous run: its
    parameters, optimiser state and curves. ``callback(epoch, logs)`` is called
    after every epoch (return ``False`` to stop). ``divergence`` says when a loss
    that blows up without overflowing stops the run (:class:`Divergence`; ``None``:
    never). ``backend`` and ``devices`` compile a Graph for JAX and split each
    batch over that many devices (``train(g, data, backend="jax", devices=2)``).
    The training accuracy is counted on each batch's output from the pass that
    gives its gradients, before the step (as the loss is), so it costs next to
    nothing.

    The course's regression: ``y = w x + b`` fitted to (2, 3), (4, 4), (6, 5), (8, 6):

    >>> from derivkit import nn
    >>> from derivkit.optim import GD
    >>> from derivkit.training.datasets import regression
    >>> net = nn.mlp([1, 1], activation="identity", output="identity", loss="mse").compile()
    >>> h = train(net, regression(), GD(0.02), epochs=4000, params={"W1": [[0.0]], "b1": [[0.0]]})
    >>> round(float(h.params["W1"][0, 0]), 3), round(float(h.params["b1"][0, 0]), 3)
    (0.5, 2.0)
    """
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise InputError(f"epochs must be a whole number of 0 or more, not {epochs!r}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1):
        raise InputError(f"the batch size must be a whole number of at least 1, not {batch_size!r}")
    if patience is not None and (not isinstance(patience, (int, np.integer)) or patience < 1):
        raise InputError(f"patience must be a whole number of at least 1, not {patience!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"the seed must be a whole number of 0 or more, not {seed!r}")
    if divergence is not None and not isinstance(divergence, Divergence):
        raise InputError(f"divergence must be a Divergence rule or None, not {type(divergence).__name__}")
    compiled = _compiled(graph, backend, devices)
    fn = _fn(compiled)
    opt = make_optimizer(optimizer, lr=lr) if isinstance(optimizer, str) else optimizer
    if not isinstance(opt, Optimizer):
        raise InputError(f"optimizer must be an optimiser of derivkit.optim or a name, not {type(opt).__name__}")
    if lr is not None and not isinstance(optimizer, str):
        raise InputError("give the learning rate to the optimiser, not to train, when passing an optimiser")

    d = as_data(data)
    if isinstance(validation, (float, int)) and not isinstance(validation, bool):
        d, val = train_test_split(d, test=float(validation), seed=seed)
    elif validation is not None:
        val = as_data(validation)
    else:
        val = None
    n = next(iter(d.values())).shape[0]
    bs = n if batch_size is None else min(int(batch_size), n)
    nb = -(-n // bs)
    has_xy = "X" in d and "Y" in d
    classify = has_xy and (is_classification(d["Y"]) if metrics is None else bool(metrics))
    has_output = classify and getattr(compiled, "output_name", None) is not None
    with_output = getattr(compiled, "loss_grads_and_output", None) if has_output else None
    truth = labels(d["Y"]) if with_output is not None else None  # each example's class, once
    if classify and with_output is None:  # accuracy from a prediction on a fixed sample
        sample = np.random.default_rng(seed).permutation(n)[:METRIC_SAMPLE] if n > METRIC_SAMPLE else slice(None)

    if resume is not None:
        if params is not None:
            raise InputError("give either params or resume, not both")
        p = _initial_params(compiled, resume.params, seed)
        if resume.optimizer_state:
            opt.load_state_dict(resume.optimizer_state)
        losses = list(resume.losses)
        val_losses = list(resume.val_losses)
        mets = {k: list(v) for k, v in resume.metrics.items()}
        best_params = {k: np.array(v) for k, v in (resume.best_params or resume.params).items()}
        best_epoch = resume.best_epoch
        history_best = resume.val_losses if resume.val_losses else resume.losses
        best = min(history_best) if history_best else math.inf
        start_loss = resume.start_loss if math.isfinite(resume.start_loss) else (
            resume.losses[0] if resume.losses else math.nan)
    else:
        p = _initial_params(compiled, params, seed)
        losses, val_losses, mets = [], [], {}
        best_params = {k: v.copy() for k, v in p.items()}
        best_epoch, best = 0, math.inf
        start_loss = math.nan
    first = len(losses)

    diverged = stopped = interrupted = False
    reason = ""
    since_best = 0
    bar = _progress(progress, int(epochs), nb)
    t0 = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is detected and reported instead
        try:
            for epoch in range(first, first + int(epochs)):
                opt.set_epoch(epoch)
                if nb > 1:
                    order = np.random.default_rng([seed, epoch]).permutation(n)
                    shuffled = {k: v[order] for k, v in d.items()}
                    classes = truth[order] if truth is not None else None
                else:
                    shuffled = d
                    classes = truth
                total = 0.0
                correct = 0
                for i in range(nb):
                    batch = {k: v[i * bs:(i + 1) * bs] for k, v in shuffled.items()} if nb > 1 else shuffled
                    if with_output is not None:
                        loss, grads, output = with_output(p, batch)
                        right = labels(output) == classes[i * bs:(i + 1) * bs]  # type: ignore[index]
                        correct += int(np.count_nonzero(right))
                    else:
                        loss, grads = fn(p, batch)
                    loss = float(loss)
                    if math.isnan(start_loss):
                        start_loss = loss
                    bad = None if math.isfinite(loss) else "loss"
                    if bad is None:
                        name = _finite_grads(grads)
                        bad = None if name is None else f"gradient of {name}"
                    if bad is not None:
                        diverged = True
                        reason = (
                            f"the {bad} became {_non_finite(loss) if bad == 'loss' else 'infinite or nan'} "
                            f"in epoch {epoch + 1}, batch {i + 1}: the learning rate ({opt.current_lr:g}) is probably too large"
                        )
                        break
                    opt.step(p, grads)
                    total += loss * (min(bs, n - i * bs))
                if diverged:
                    break
                losses.append(total / n)
                logs = {"loss": losses[-1]}
                if with_output is not None:
                    logs["accuracy"] = correct / n
                elif classify:
                    pred = np.asarray(compiled.predict(p, d["X"][sample]))
                    logs["accuracy"] = float(np.mean(labels(pred) == labels(d["Y"][sample])))
                if val is not None:
                    ev = evaluate(compiled, p, val, accuracy=classify)
                    val_losses.append(ev["loss"])
                    logs["val_loss"] = ev["loss"]
                    if classify:
                        logs["val_accuracy"] = ev["accuracy"]
                for k, v in logs.items():
                    if k not in ("loss", "val_loss"):
                        mets.setdefault(k, []).append(v)
                monitored = logs.get("val_loss", logs["loss"])
                if not math.isfinite(monitored):
                    diverged = True
                    reason = f"the {'validation ' if val is not None else ''}loss became {monitored} after epoch {epoch + 1}"
                    break
                why = divergence.reason(start_loss, losses) if divergence is not None else None
                if why is not None:
                    diverged = True
                    reason = (f"{why}, by epoch {epoch + 1}: the learning rate ({opt.current_lr:g}) "
                              f"is probably too large")
                    break
                if monitored < best:
                    best, best_epoch, since_best = monitored, epoch + 1, 0
                    best_params = {k: v.copy() for k, v in p.items()}
                else:
                    since_best += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{logs['loss']:.4g}")
                if callback is not None and callback(epoch + 1, logs) is False:
                    stopped, reason = True, f"stopped by the callback after epoch {epoch + 1}"
                    break
                if patience is not None and since_best >= patience:
                    stopped = True
                    what = "validation loss" if val is not None else "training loss"
                    reason = (f"early stopping: the {what} did not improve for {patience} epochs "
                              f"(best {best:.4g} at epoch {best_epoch})")
                    break
                if budget.remaining() <= 0:  # only inside a task whose deadline has passed (a server's)
                    stopped = True
                    reason = f"stopped at the time limit after epoch {epoch + 1}; the history so far is kept"
                    break
        except KeyboardInterrupt:
            interrupted = True
            reason = f"interrupted (Ctrl-C) after {len(losses)} epochs; the best parameters are kept"
        finally:
            if bar is not None:
                bar.close()
    return History(
        losses=tuple(losses),
        val_losses=tuple(val_losses),
        metrics={k: tuple(v) for k, v in mets.items()},
        params=p,
        best_params=best_params,
        best_epoch=best_epoch,
        diverged=diverged,
        reason=reason,
        stopped_early=stopped,
        interrupted=interrupted,
        optimizer=repr(opt),
        optimizer_state=opt.state_dict(),
        batch_size=batch_size,
        seed=seed,
        seconds=(resume.seconds if resume is not None else 0.0) + time.perf_counter() - t0,
        start_loss=start_loss,
    )


