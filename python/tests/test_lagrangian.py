"""The least-action model from Python: each test asserts a property that fails if the binding
(or the model under it) is wrong."""
import numpy as np
import pytest

import nlm

from scratch import scratch


def test_plasticity_at_a_fixed_point_is_beta_times_backprop():
    # At a fixed point with constant input and target, the rule's signal is beta x the gradient of
    # back-propagation through the same network to first order in beta (the C++ test checks the
    # order; here the binding's conventions: W (N, N) with W[i, j] from j to i, the step's return).
    rng = np.random.default_rng(3)
    beta = 1e-3
    l = nlm.LagrangianLearner([6, 5, 3], beta=beta, learning_rate=0.0, dtype="float64")
    W = np.array(l.W)
    W[6:11, 0:6] = rng.normal(0, 0.4, (5, 6))
    W[11:14, 6:11] = rng.normal(0, 0.4, (3, 5))
    l.set_weights(W)
    l.set_biases(np.r_[np.zeros(6), rng.uniform(0.3, 0.6, 8)])
    x, t = rng.uniform(0.1, 0.9, (1, 6)), rng.uniform(0, 1, (1, 3))
    l.set_nudging(beta)
    for _ in range(600):
        l.step(x, t)
    m = l.mismatch
    rates = np.clip(l.potentials, 0, 1)
    rule = (m.T @ rates) * (np.array(l.W) != 0)  # <m r^T> on the synapses
    cost, gW, gb = l.backprop_gradients(x, t)
    assert cost > 0
    err = np.linalg.norm(rule + beta * gW) / np.linalg.norm(beta * gW)
    assert err < 0.01


def test_supervised_learning_predict_and_resume_bit_for_bit():
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 1, (8, 5)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 8)]
    a = nlm.LagrangianLearner([5, 4, 3], batch=2, learning_rate=0.05, seed=2)
    W0 = np.array(a.W)
    a.learn_supervised(x, y, epochs=1, steps=10)
    path = scratch("lagrangian.ckpt")
    a.save_checkpoint(path)
    assert not np.array_equal(W0, np.array(a.W))
    assert a.W.flags.writeable is False
    b = nlm.LagrangianLearner([5, 4, 3], batch=2, learning_rate=0.05, seed=2)
    b.load_checkpoint(path)
    a.learn_supervised(x, y, epochs=1, steps=10, resume=True)
    b.learn_supervised(x, y, epochs=1, steps=10, resume=True)
    assert a.updates == b.updates == 80
    np.testing.assert_array_equal(np.array(a.W), np.array(b.W))
    np.testing.assert_array_equal(a.potentials, b.potentials)
    out = a.predict(x, steps=10)
    assert out.shape == (8, 3) and out.dtype == np.float32


def test_a_recording_and_the_errors_that_name_the_problem():
    rng = np.random.default_rng(7)
    trace = 0.5 + 0.2 * np.sin(np.arange(200)[:, None] / 20.0 + np.arange(4)[None, :])
    l = nlm.LagrangianLearner([3, 4], architecture="all_to_all", rate="sigmoid", biases=False, learning_rate=1e-3,
                              dtype="float64")
    assert l.topology == "all_to_all 3+4" and l.solve == "dense"
    l.learn_trace(trace, epochs=1)
    out = l.run_trace(trace, nudging=np.array([0.1, 0.1, 0.0, 0.0]))
    assert out.shape == (200, 4) and np.all(np.isfinite(out))
    with pytest.raises(ValueError, match="dt = 10.000000 must be smaller than tau = 10.000000"):
        nlm.LagrangianLearner([3, 2], dt=10.0)
    with pytest.raises(ValueError, match="the layered solve needs a rate function with rho'' = 0, and Sigmoid has not"):
        nlm.LagrangianLearner([3, 2], rate="sigmoid", solve="layered")
    with pytest.raises(ValueError, match="the input has a non-finite value at row 0, column 1"):
        nlm.LagrangianLearner([3, 2]).step(np.array([[0.5, np.nan, 0.5]]))
    with pytest.raises(ValueError, match="rate: 'tanh' is not one of"):
        nlm.LagrangianLearner([3, 2], rate="tanh")
    mask = np.zeros((3, 3))
    mask[1, 1] = 1
    with pytest.raises(ValueError, match="the mask has a self-loop at neuron 1"):
        nlm.LagrangianLearner([1], architecture="custom", mask=mask, inputs=1)
