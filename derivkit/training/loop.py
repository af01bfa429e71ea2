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
* the validation loss (the training loss when there is no validation data)
  has not improved for ``patience`` epochs (early stopping),
* the user presses Ctrl-C (``interrupted``).

In every case the :class:`History` keeps what was recorded so far, the last
parameters and the best ones (lowest validation loss, else training loss).
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from derivkit.errors import InputError, ShapeError
from derivkit.renderable import Renderable
from derivkit.training.datasets import Data, as_data, labels, train_test_split
from derivkit.training.optim import Optimizer, make_optimizer

__all__ = ["train", "History", "evaluate", "load_params", "is_classification"]

Params = dict[str, np.ndarray]


@dataclass(frozen=True)
class History(Renderable):
    """What a training run recorded, one entry per epoch.

    ``losses`` is the mean training loss of each epoch (over its batches,
    before each step), ``val_losses`` the loss on the validation data after
    each epoch (empty without validation data), ``metrics`` maps a metric name
    (``accuracy``, ``val_accuracy``) to its values per epoch. ``params`` are
    the parameters at the end, ``best_params`` those of ``best_epoch``.
    ``optimizer_state`` resumes the optimiser (see :func:`train`'s ``resume``).
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
            "param_shapes": {k: list(np.shape(v)) for k, v in self.params.items()},
        }

    def save(self, path: str | Path) -> Path:
        """Save parameters, best parameters, optimiser state and the curves to ``path`` (``.npz``).

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
            "optimizer_meta": {k: v for k, v in self.optimizer_state.items() if k != "state"},
        }
        arrays["meta"] = np.array(json.dumps(meta))
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **arrays)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "History":
        """Read a file written by :meth:`save`."""
        try:
            with np.load(Path(path), allow_pickle=False) as z:
                files = {k: z[k] for k in z.files}
        except (OSError, ValueError) as err:
            raise InputError(f"cannot read {path} as a saved training run: {err}") from None
        if "meta" not in files:
            raise InputError(f"{path} is not a file saved by History.save (no 'meta' entry)")
        meta = json.loads(str(files.pop("meta")))
        params: Params = {}
        best: Params = {}
        state: dict[str, dict[str, np.ndarray]] = {}
        metrics: dict[str, tuple[float, ...]] = {}
        for key, a in files.items():
            kind, _, rest = key.partition("/")
            if kind == "param":
                params[rest] = a
            elif kind == "best":
                best[rest] = a
            elif kind == "optim":
                slot, _, name = rest.partition("/")
                state.setdefault(slot, {})[name] = a
            elif kind == "metric":
                metrics[rest] = tuple(float(x) for x in a)
        opt_state = dict(meta.pop("optimizer_meta", {}))
        if opt_state:
            opt_state["state"] = state
        return cls(
            losses=tuple(float(x) for x in files.get("losses", ())),
            val_losses=tuple(float(x) for x in files.get("val_losses", ())),
            metrics=metrics, params=params, best_params=best, optimizer_state=opt_state, **meta,
        )

    def plot(self, path: str | Path | None = None, *, log: bool | None = None):
        """Draw the loss curves (and accuracy); save to ``path`` (PNG) when given. Returns the figure."""
        from derivkit.training.plot import plot_history

        return plot_history(self, path, log=log)


def load_params(path: str | Path) -> Params:
    """The parameters saved in ``path``: a :meth:`History.save` file or a plain ``.npz`` of arrays.

    >>> import tempfile
    >>> path = History(losses=(1.0,), params={"W1": np.ones((2, 1))}).save(tempfile.mkdtemp() + "/run")
    >>> path.name, load_params(path)["W1"].shape
    ('run.npz', (2, 1))
    """
    try:
        with np.load(Path(path), allow_pickle=False) as z:
            files = {k: z[k] for k in z.files}
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read parameters from {path}: {err}") from None
    if "meta" in files:
        return {k.partition("/")[2]: v for k, v in files.items() if k.startswith("param/")}
    return files


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
    after every epoch (return ``False`` to stop). ``backend`` and ``devices``
    compile a Graph for JAX and split each batch over that many devices
    (``train(g, data, backend="jax", devices=2)``). The training accuracy is
    counted on each batch's output from the pass that gives its gradients,
    before the step (as the loss is), so it costs next to nothing.

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
    else:
        p = _initial_params(compiled, params, seed)
        losses, val_losses, mets = [], [], {}
        best_params = {k: v.copy() for k, v in p.items()}
        best_epoch, best = 0, math.inf
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
                else:
                    shuffled = d
                total = 0.0
                correct = 0
                for i in range(nb):
                    batch = {k: v[i * bs:(i + 1) * bs] for k, v in shuffled.items()} if nb > 1 else shuffled
                    if with_output is not None:
                        loss, grads, output = with_output(p, batch)
                        correct += int(np.sum(labels(np.asarray(output)) == labels(batch["Y"])))
                    else:
                        loss, grads = fn(p, batch)
                    loss = float(loss)
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
    )


