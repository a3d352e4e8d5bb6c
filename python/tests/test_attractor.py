"""The free-energy attractor network from Python: each test asserts a property that fails if the
binding (or the model under it) is wrong."""
import pathlib

import numpy as np
import pytest

import nlm

from scratch import SCRATCH, scratch


def hadamard_network(n=32, k=3, beta=4.0, dtype="float64"):
    """Hebbian couplings of k orthogonal +-1 patterns (rows of a Sylvester-Hadamard matrix)."""
    i = np.arange(n)
    xi = np.array([np.where(np.array([bin((p + 1) & v).count("1") % 2 for v in i]), -1.0, 1.0) for p in range(k)])
    J = xi.T @ xi / n
    np.fill_diagonal(J, 0.0)
    return nlm.AttractorModel(J, beta=beta, dtype=dtype), xi, J


def test_langevin_function_is_coth_minus_reciprocal_and_zero_at_zero():
    t = np.array([-30.0, -2.0, -1e-4, 0.0, 1e-4, 0.5, 2.0, 300.0])
    expected = np.where(t == 0, 0.0, 1 / np.tanh(np.where(t == 0, 1, t)) - 1 / np.where(t == 0, 1, t))
    expected[np.abs(t) < 1e-3] = t[np.abs(t) < 1e-3] / 3  # the series where the difference cancels
    np.testing.assert_allclose(nlm.langevin(t), expected, rtol=1e-7, atol=1e-12)


def test_deterministic_run_is_the_map_and_relax_finds_the_stored_patterns():
    model, xi, J = hadamard_network()
    s0 = 0.5 * xi
    one = model.run(s0, steps=1, mode="deterministic")
    np.testing.assert_allclose(one, nlm.langevin(4.0 * s0 @ J.T), rtol=1e-12)
    # m xi^k with m = L(4 m 29/32): J xi^k = xi^k (1 - K/N) for the zero-diagonal Hebbian J
    m = 0.5
    for _ in range(10000):
        m = float(nlm.langevin(np.array([4.0 * m * 29 / 32]))[0])
    r = model.relax(np.vstack([s0, -s0[:1], np.zeros((1, 32))]))
    assert all(r["settled"])
    np.testing.assert_allclose(r["ends"][:3], m * xi, rtol=1e-9)
    np.testing.assert_allclose(r["ends"][3], -m * xi[0], rtol=1e-9)
    assert r["attractors"].shape == (5, 32)
    assert list(r["attractor_of"]) == [0, 1, 2, 3, 4]
    census = model.census(s0)
    assert len(census["fixed_points"]["states"]) >= 3


def test_sampled_run_records_frames_and_continues_the_noise_stream():
    model, xi, _ = hadamard_network()
    frames = model.run(0.5 * xi, steps=4, record=True)
    assert frames.shape == (4, 3, 32)
    assert np.all(np.abs(frames) <= 1)
    again = model.run(0.5 * xi, steps=4, record=True)
    assert not np.array_equal(frames, again)  # the stream went on
    fresh, _, _ = hadamard_network()
    np.testing.assert_array_equal(fresh.run(0.5 * xi, steps=4, record=True), frames)  # same seed, same draws


def test_one_update_is_the_rule_computed_by_hand():
    n = 5
    rng = np.random.default_rng(3)
    J = rng.normal(0, 0.3, (n, n))
    np.fill_diagonal(J, 0)
    b = rng.normal(0, 1, n)
    learner = nlm.AttractorLearner(n, beta=0.7, learning_rate=0.05, mode="deterministic")
    learner.set_couplings(J)
    learner.set_field(b)
    sigma = np.array(learner.states[0])  # zeros
    h = J @ sigma
    new = nlm.langevin(0.7 * (b + h))
    expected = J + 0.05 * (np.outer(new, new) - np.outer(nlm.langevin(h), new))
    np.fill_diagonal(expected, 0)
    learner.update()
    np.testing.assert_allclose(learner.J, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(learner.states[0], new, rtol=1e-12)


def test_fused_steps_follow_update_to_rounding():
    a = nlm.AttractorLearner(20, seed=4)
    f = nlm.AttractorLearner(20, seed=4)
    b = np.linspace(-2, 2, 20)
    a.set_field(b)
    f.set_field(b)
    for _ in range(10):
        a.update()
    f.fused_steps(10)
    np.testing.assert_allclose(f.J, a.J, atol=1e-12)
    with pytest.raises(ValueError, match="one chain only"):
        nlm.AttractorLearner(20, chains=2).fused_steps(1)


def test_learning_resumes_bit_for_bit_from_a_checkpoint():
    patterns = np.random.default_rng(0).normal(0, 1, (3, 16))
    whole = nlm.AttractorLearner(16, seed=9)
    whole.learn(patterns, 40, evidence=2.0, steps_per_presentation=2, random_order=True)
    part = nlm.AttractorLearner(16, seed=9)
    part.learn(patterns, 15, evidence=2.0, steps_per_presentation=2, random_order=True)
    path = scratch("attractor.nlm")
    part.save_checkpoint(path)
    resumed = nlm.AttractorLearner(16, seed=9)
    resumed.load_checkpoint(path)
    assert resumed.updates == 30
    resumed.learn(patterns, 25, evidence=2.0, steps_per_presentation=2, random_order=True, resume=True)
    assert resumed.updates == 80
    np.testing.assert_array_equal(resumed.J, whole.J)
    other = nlm.AttractorLearner(17)
    with pytest.raises(ValueError):
        other.load_checkpoint(path)


def test_the_reference_free_energy_is_complexity_minus_accuracy():
    learner = nlm.AttractorLearner(8, seed=2)
    learner.set_field(np.linspace(-1, 1, 8))
    learner.update()
    f = learner.free_energy()
    assert f.shape == (1, 3)
    np.testing.assert_allclose(f[0, 0], f[0, 2] - f[0, 1], rtol=1e-12)
    model = learner.model()
    np.testing.assert_allclose(model.free_energy(np.array(learner.states)), f, rtol=1e-12)


def test_orthogonality_and_the_digits_preprocessing():
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    assert nlm.orthogonality(x) == pytest.approx(30.0)
    assert nlm.orthogonality(x, with_diagonal=True) == pytest.approx(50.0)
    images = np.arange(128).reshape(2, 64) % 17
    z = nlm.uci_digit_patterns(images)
    sq = images.astype(float) ** 2
    np.testing.assert_allclose(z, (sq - sq.mean(1, keepdims=True)) / sq.std(1, keepdims=True), rtol=1e-12)
    path = scratch("digits.csv")
    pathlib.Path(path).write_text("\n".join(",".join(str(v) for v in row) + f",{r}" for r, row in enumerate(images)) + "\n")
    read, labels = nlm.load_uci_digits(path)
    np.testing.assert_array_equal(read, images)
    assert list(labels) == [0, 1]


def test_bad_arguments_are_refused_with_a_sentence():
    with pytest.raises(ValueError, match="mode: 'fast' is not one of 'sampled', 'deterministic'"):
        nlm.AttractorLearner(4, mode="fast")
    with pytest.raises(ValueError, match="beta"):
        nlm.AttractorLearner(4, beta=0.0)
    with pytest.raises(ValueError, match="expected 4 columns"):
        nlm.AttractorLearner(4).learn(np.zeros((2, 5)), 3)
    with pytest.raises(ValueError, match="needs at least 2 rows"):
        nlm.orthogonality(np.ones((1, 3)))
    with pytest.raises(ValueError, match="criterion"):
        hadamard_network()[0].relax(np.zeros((1, 32)), criterion="energy")
    with pytest.raises(FileNotFoundError):
        nlm.load_uci_digits(scratch("missing.csv"))
    with pytest.raises(ValueError, match="not a whole number 0-16"):
        nlm.uci_digit_patterns(np.full((1, 64), 17))
