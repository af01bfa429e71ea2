"""Optimisers: the course's formulas by hand, equivalences, resuming, PyTorch agreement."""

from __future__ import annotations

import numpy as np
import pytest

from derivkit.errors import InputError, ShapeError
from derivkit.optim import (
    GD, SGD, Adam, AdamW, CosineDecay, ExponentialDecay, Momentum, Nesterov, StepDecay, make_optimizer,
)


def grad_f(b):  # f(b) = 5 b^2 - 3 b + 2
    return 10 * b - 3


def run(opt, steps, b0=4.0):
    p = {"b": np.array([b0])}
    out = []
    for _ in range(steps):
        opt.step(p, {"b": grad_f(p["b"])})
        out.append(float(p["b"][0]))
    return out


def test_gd_exercise():
    assert run(GD(0.01), 3) == pytest.approx([3.63, 3.297, 2.9973], abs=1e-12)
    assert run(GD(1), 3) == pytest.approx([-33, 300, -2697])
    assert run(GD(0.1), 3) == pytest.approx([0.3, 0.3, 0.3])


def test_momentum_course_form_by_hand():
    # b1 = 3.63, b2 = 3.63 - 0.01*33.3 + 0.5*(-0.37) = 3.112, b3 = 3.112 - 0.2812 + 0.5*(-0.518) = 2.5718
    assert run(Momentum(0.01, eta=0.5), 3) == pytest.approx([3.63, 3.112, 2.5718], abs=1e-12)


def test_momentum_equals_velocity_forms():
    lr, eta, b = 0.02, 0.8, 4.0
    ours = run(Momentum(lr, eta), 10, b)
    # PyTorch's form: v = eta v + g; b = b - lr v
    v, torch_form = 0.0, []
    # textbook velocity form: u = eta u - lr g; b = b + u
    u, b2, velocity_form = 0.0, b, []
    for _ in range(10):
        v = eta * v + grad_f(b)
        b = b - lr * v
        torch_form.append(b)
        u = eta * u - lr * grad_f(b2)
        b2 = b2 + u
        velocity_form.append(b2)
    assert ours == pytest.approx(torch_form, rel=1e-12)
    assert ours == pytest.approx(velocity_form, rel=1e-12)


def test_eta_zero_is_gd():
    assert run(Momentum(0.03, eta=0), 5) == pytest.approx(run(GD(0.03), 5), rel=1e-15)


def test_nesterov_by_hand():
    # Δ1 = -0.37, b1 = 4 + 0.5*(-0.37) - 0.37 = 3.445
    assert run(Nesterov(0.01, eta=0.5), 1) == pytest.approx([3.445])


def test_adam_first_step_moves_by_lr():
    p = {"w": np.array([[1.0, 2.0], [3.0, 4.0]])}
    Adam(0.1).step(p, {"w": np.array([[5.0, -0.001], [0.0, -7.0]])})
    assert p["w"] == pytest.approx(np.array([[0.9, 2.1], [3.0, 4.1]]), abs=1e-5)


def test_adam_by_hand_two_steps():
    b1, b2, lr, eps = 0.9, 0.999, 0.1, 1e-8
    w, m, v = 1.0, 0.0, 0.0
    for t in (1, 2):
        g = 2 * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w -= lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    p = {"w": np.array([1.0])}
    opt = Adam(lr)
    for _ in range(2):
        opt.step(p, {"w": 2 * p["w"]})
    assert p["w"][0] == pytest.approx(w, rel=1e-12)


@pytest.mark.parametrize("make", [lambda: GD(0.05), lambda: Momentum(0.05, 0.9), lambda: Nesterov(0.05, 0.9),
                                  lambda: Adam(0.05)])
def test_all_minimise_a_quadratic(make):
    assert run(make(), 300)[-1] == pytest.approx(0.3, abs=1e-3)


@pytest.mark.parametrize("make", [lambda: Momentum(0.05, 0.9), lambda: Adam(0.05),
                                  lambda: SGD(0.05, momentum=0.9, weight_decay=0.01),
                                  lambda: AdamW(0.05, weight_decay=0.01)])
def test_state_dict_resumes_exactly(make):
    full = run(make(), 10)
    opt = make()
    p = {"b": np.array([4.0])}
    for _ in range(5):
        opt.step(p, {"b": grad_f(p["b"])})
    state = opt.state_dict()
    opt2 = make()
    opt2.load_state_dict(state)
    for _ in range(5):
        opt2.step(p, {"b": grad_f(p["b"])})
    assert float(p["b"][0]) == full[-1]


def test_state_of_another_kind_refused():
    with pytest.raises(InputError, match="Adam"):
        GD(0.1).load_state_dict(Adam().state_dict())


def test_updates_in_place_and_checks_shapes():
    w = np.ones((2, 3))
    params = {"w": w}
    GD(0.5).step(params, {"w": np.ones((2, 3))})
    assert params["w"] is w and (w == 0.5).all()
    with pytest.raises(ShapeError, match="shape"):
        GD(0.5).step(params, {"w": np.ones(3)})
    with pytest.raises(InputError, match="no parameter"):
        GD(0.5).step(params, {"v": np.ones(3)})


def test_schedules():
    assert [StepDecay(1.0, every=3, gamma=0.5)(e) for e in (0, 2, 3, 6)] == [1.0, 1.0, 0.5, 0.25]
    assert ExponentialDecay(2.0, 0.5)(3) == 0.25
    c = CosineDecay(1.0, epochs=4, lr_min=0.2)
    assert (c(0), c(2), c(4), c(9)) == pytest.approx((1.0, 0.6, 0.2, 0.2))
    opt = GD(StepDecay(0.1, every=1, gamma=0.5))
    opt.set_epoch(2)
    assert opt.current_lr == pytest.approx(0.025)


def test_bad_hyperparameters():
    with pytest.raises(InputError, match="learning rate"):
        GD(-1)
    with pytest.raises(InputError, match="eta"):
        Momentum(0.1, eta=1.5)
    with pytest.raises(InputError, match="unknown optimiser"):
        make_optimizer("rmsprop")
    assert isinstance(make_optimizer("Adam", lr=0.01), Adam)


def test_agrees_with_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(3, 2))
    A = rng.normal(size=(3, 3))

    def grad(w):  # gradient of 0.5 |A w|^2 + sum(w)
        return A.T @ (A @ w) + 1.0

    for ours, make_torch in [
        (Adam(0.01), lambda p: torch.optim.Adam([p], lr=0.01)),
        (Momentum(0.01, 0.9), lambda p: torch.optim.SGD([p], lr=0.01, momentum=0.9)),
        (Nesterov(0.01, 0.9), lambda p: torch.optim.SGD([p], lr=0.01, momentum=0.9, nesterov=True)),
        (SGD(0.01, momentum=0.9, dampening=0.3, weight_decay=0.1),
         lambda p: torch.optim.SGD([p], lr=0.01, momentum=0.9, dampening=0.3, weight_decay=0.1)),
        (SGD(0.01, momentum=0.8, nesterov=True, weight_decay=0.05),
         lambda p: torch.optim.SGD([p], lr=0.01, momentum=0.8, nesterov=True, weight_decay=0.05)),
        (Adam(0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
         lambda p: torch.optim.Adam([p], lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
        (AdamW(0.01, weight_decay=0.1), lambda p: torch.optim.AdamW([p], lr=0.01, weight_decay=0.1)),
    ]:
        params = {"w": w0.copy()}
        tp = torch.tensor(w0.copy(), dtype=torch.float64, requires_grad=True)
        topt = make_torch(tp)
        for _ in range(20):
            ours.step(params, {"w": grad(params["w"])})
            tp.grad = torch.tensor(grad(tp.detach().numpy()), dtype=torch.float64)
            topt.step()
        assert params["w"] == pytest.approx(tp.detach().numpy(), rel=1e-10, abs=1e-12), type(ours).__name__


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=30)
@given(lr=st.floats(0.001, 0.15), eta=st.floats(0.0, 0.95), b0=st.floats(-10, 10))
def test_momentum_is_the_velocity_form_for_any_hyperparameters(lr, eta, b0):
    ours = run(Momentum(lr, eta), 8, b0)
    v, b, expected = 0.0, b0, []
    for _ in range(8):
        v = eta * v + grad_f(b)  # PyTorch's form
        b = b - lr * v
        expected.append(b)
    assert ours == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_adam_state_by_name_survives_a_change_of_parameters():
    p = {"a": np.ones((2, 2)), "b": np.ones(3)}
    opt = Adam(0.1)
    opt.step(p, {"a": np.full((2, 2), 2.0), "b": np.full(3, -1.0)})
    state = opt.state_dict()["state"]
    assert state["m"]["a"] == pytest.approx(np.full((2, 2), 0.2)) and state["m"]["b"] == pytest.approx(np.full(3, -0.1))
    opt.step(p, {"a": np.full((2, 2), 2.0)})  # only a: its moments carry on
    assert opt.state_dict()["state"]["m"]["a"] == pytest.approx(np.full((2, 2), 0.9 * 0.2 + 0.2))


# PyTorch's keyword names, the course's names as aliases ------------------------------------


def test_pytorch_keywords():
    assert run(SGD(0.01, momentum=0.5), 3) == pytest.approx([3.63, 3.112, 2.5718], abs=1e-12)
    assert run(SGD(lr=0.01), 3) == pytest.approx([3.63, 3.297, 2.9973], abs=1e-12)
    assert run(Momentum(lr=0.01, momentum=0.5), 3) == pytest.approx([3.63, 3.112, 2.5718], abs=1e-12)
    assert run(Nesterov(lr=0.01, momentum=0.5), 1) == pytest.approx([3.445])
    assert Momentum(0.01).momentum == 0.9  # PyTorch users' usual value is the default
    opt = Adam(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)
    assert (opt.beta1, opt.beta2, opt.betas, opt.eps, opt.weight_decay) == (0.8, 0.99, (0.8, 0.99), 1e-6, 0.1)


def test_course_names_are_aliases():
    assert run(Momentum(0.01, eta=0.5), 3) == run(Momentum(0.01, momentum=0.5), 3)
    assert Momentum(0.01, eta=0.3).eta == Momentum(0.01, momentum=0.3).momentum == 0.3
    assert Adam(0.01, beta1=0.8, beta2=0.99).betas == (0.8, 0.99)
    with pytest.raises(InputError, match="not both"):
        Momentum(0.01, momentum=0.5, eta=0.5)


def test_make_optimizer_passes_keywords_and_names_unknown_ones():
    opt = make_optimizer("sgd", lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3)
    assert isinstance(opt, SGD) and (opt.momentum, opt.nesterov, opt.weight_decay) == (0.9, True, 1e-3)
    assert make_optimizer("momentum", lr=0.1, eta=0.5).momentum == 0.5
    assert isinstance(make_optimizer("adamw"), AdamW)
    with pytest.raises(InputError, match="GD optimiser takes no momentum keyword"):
        make_optimizer("gd", lr=0.1, momentum=0.9)


def test_reprs_use_the_keyword_names():
    assert repr(GD(0.1)) == "GD(lr=0.1)"
    assert repr(SGD(0.1, momentum=0.9, nesterov=True)) == "SGD(lr=0.1, momentum=0.9, nesterov=True)"
    assert repr(Momentum(0.01, eta=0.5)) == "Momentum(lr=0.01, momentum=0.5)"
    assert repr(Adam(0.01, weight_decay=0.1)) == "Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.1)"


def test_bad_keywords():
    with pytest.raises(InputError, match="Nesterov momentum needs a momentum above 0"):
        SGD(0.1, nesterov=True)
    with pytest.raises(InputError, match="weight_decay"):
        SGD(0.1, weight_decay=-1)
    with pytest.raises(InputError, match="betas must be a pair"):
        Adam(0.1, betas=0.9)
    with pytest.raises(InputError, match="momentum"):
        SGD(0.1, momentum=1.0)


# Weight decay, by PyTorch's definitions (torch.optim docs), with numbers checked by hand --------


def steps(opt, w0, g, n=1):
    """The weights after ``n`` steps of ``opt`` from ``w0`` with the constant gradient ``g``."""
    p = {"w": np.array(w0, dtype=float)}
    for _ in range(n):
        opt.step(p, {"w": np.array(g, dtype=float)})
    return p["w"]


def test_sgd_weight_decay_by_hand():
    # g' = g + wd w = 1 + 0.01*2 = 1.02; w = 2 - 0.1*1.02 = 1.898
    assert steps(SGD(0.1, weight_decay=0.01), [2.0], [1.0])[0] == pytest.approx(1.898, abs=1e-15)
    # with momentum 0.5: step 1 buf = 1.02, w = 1.898; step 2 (g = 1) g' = 1.01898,
    # buf = 0.5*1.02 + 1.01898 = 1.52898, w = 1.898 - 0.152898 = 1.745102
    assert steps(SGD(0.1, momentum=0.5, weight_decay=0.01), [2.0], [1.0], 2)[0] == pytest.approx(1.745102, abs=1e-12)


def test_weight_decay_alone_shrinks_geometrically():
    # zero loss gradient: w_t = w_0 (1 - lr wd)^t for SGD and GD
    for opt in (SGD(0.1, weight_decay=0.5), GD(0.1, weight_decay=0.5)):
        assert steps(opt, [1.0, -4.0], [0.0, 0.0], 3) == pytest.approx(np.array([1.0, -4.0]) * 0.95**3, rel=1e-14)


def test_dampening_by_hand():
    # buf1 = g = 2 (no dampening at the first step), buf2 = 0.9*2 + 0.5*2 = 2.8; w = 1 - 0.1*(2 + 2.8) = 0.52
    assert steps(SGD(0.1, momentum=0.9, dampening=0.5), [1.0], [2.0], 2)[0] == pytest.approx(0.52, abs=1e-14)


def test_adam_weight_decay_is_added_to_the_gradient():
    # g = 0, w = 1, wd = 0.5: g' = 0.5, m^ = 0.5, v^ = 0.25: the first step moves by lr = 0.1
    assert steps(Adam(0.1, weight_decay=0.5), [1.0], [0.0])[0] == pytest.approx(0.9, abs=1e-7)


def test_adamw_decay_is_decoupled():
    # w = 2 (1 - 0.1*0.5) = 1.9, then Adam's first step with g = 3 moves by lr: 1.8
    assert steps(AdamW(0.1, weight_decay=0.5), [2.0], [3.0])[0] == pytest.approx(1.8, abs=1e-7)
    assert AdamW().weight_decay == 0.01


@settings(max_examples=30)
@given(lr=st.floats(0.001, 0.1), mom=st.floats(0.0, 0.95), wd=st.floats(0.0, 0.5), b0=st.floats(-10, 10))
def test_sgd_is_torchs_recurrence_for_any_hyperparameters(lr, mom, wd, b0):
    # torch.optim.SGD's documented algorithm, written out for one weight
    b, buf, expected = b0, None, []
    for _ in range(6):
        g = grad_f(b) + wd * b
        buf = g if buf is None else mom * buf + g
        b = b - lr * (buf if mom else g)
        expected.append(b)
    assert run(SGD(lr, momentum=mom, weight_decay=wd), 6, b0) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_cli_train_takes_the_same_names(capsys):
    from derivkit.cli import main

    argv = ["train", "--data", "regression", "--epochs", "2", "--optimizer", "sgd", "--lr", "0.01",
            "--momentum", "0.5", "--weight-decay", "0.1"]
    assert main(argv) == 0
    assert "SGD(lr=0.01, momentum=0.5, weight_decay=0.1)" in capsys.readouterr().out
    assert main(argv[:5] + ["--optimizer", "momentum", "--momentum", "0.5"]) == 0
    assert "Momentum(lr=0.05, momentum=0.5)" in capsys.readouterr().out
