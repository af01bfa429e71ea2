"""Bad values given to the library get a derivkit error that says what is wrong, never a raw NumPy one."""

from __future__ import annotations

import numpy as np
import pytest

import derivkit
from derivkit import nn
from derivkit.errors import InputError, LimitError
from derivkit.graph import Graph
from derivkit.optim import Momentum


def test_gradcheck_at_a_point_with_nan_names_the_entry():
    with pytest.raises(InputError, match=r"x holds 1 entry that is NaN or infinite \(the first at \[1\] is nan\)"):
        derivkit.gradcheck(lambda x: float(np.sum(x ** 2)), lambda x: 2 * x, np.array([1.0, np.nan]))


def test_gradcheck_of_a_function_that_is_nan_there_reports_instead_of_crashing():
    with np.errstate(invalid="ignore"):  # log(-1) is NaN: that is the point of the test
        report = derivkit.gradcheck(lambda x: float(np.sum(np.log(x))), lambda x: 1 / x, np.array([1.0, -1.0]))
    assert not report.ok and report.bad_params == ("x",)
    assert "not finite at or near this point" in str(report)


def test_check_backprop_takes_a_compiled_graph():
    g = nn.mlp([2, 3, 2])
    net = g.compile()
    params = net.init_params(seed=0)
    data = {"X": np.ones((4, 2)), "Y": np.eye(2)[[0, 1, 0, 1]]}
    _, grads = net(params, data)
    assert derivkit.check_backprop(net, params, data, {"W1": grads["W1"]}).ok
    assert not derivkit.check_backprop(net, params, data, {"W1": 2 * grads["W1"]}).ok
    with pytest.raises(InputError, match="not dict"):
        derivkit.check_backprop({"W1": 1}, params, data, {"W1": grads["W1"]})


def test_a_node_too_large_for_memory_is_refused_when_it_is_declared():
    g = Graph()
    with pytest.raises(LimitError, match=r"the node W of shape 100000 x 100000 would hold 1e\+10 numbers") as e:
        g.param("W", (100000, 100000))
    assert e.value.limit == "memory"
    with derivkit.limits(memory=2 ** 40):
        Graph().param("W", (100000, 100000))  # declaring is free once the limit allows it


def test_padding_that_would_make_a_huge_image_is_refused():
    g = Graph()
    g.input("X", ("N", 1, 8, 8))
    g.param("K", (1, 1, 3, 3))
    with pytest.raises(LimitError, match="per example"):
        g.define("L", "sum(conv2d(X, K, padding=10000000))")


def test_momentum_and_eta_together_are_refused():
    with pytest.raises(InputError, match="not both"):
        Momentum(0.1, momentum=0.9, eta=0.5)
    assert Momentum(0.1, eta=0.5).momentum == 0.5 and Momentum(0.1).momentum == 0.9


@pytest.mark.parametrize("eta", [1, 2, "3/2"])
def test_descend_refuses_a_momentum_of_one_or_more(eta):
    with pytest.raises(InputError, match="from 0 to below 1"):
        derivkit.descend("x^2", "x", 1, "0.1", 5, momentum=eta)


def test_data_of_strings_is_named():
    net = nn.mlp([2, 2]).compile()
    with pytest.raises(InputError, match="the input X must be an array of numbers, but it holds values of type <U1"):
        net(net.init_params(seed=0), {"X": [["a", "b"]] * 3, "Y": np.ones((3, 2))})
