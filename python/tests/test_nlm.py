"""Tests of the Python module: each asserts a property that fails if the binding is wrong."""
import os
import pathlib

import numpy as np
import pytest

import nlm

from scratch import SCRATCH, scratch


def random_model(n=6, seed=1, dtype="float64"):
    rng = np.random.default_rng(seed)
    J = rng.normal(0, 0.5, (n, n))
    b = rng.normal(0, 0.3, n)
    return nlm.Model(J, b, T=1.0, seed=3, dtype=dtype), J, b


def test_version_is_the_headers():
    assert nlm.__version__ == "0.2.0"


def test_energy_is_half_the_squared_residual():
    model, J, b = random_model()
    x = np.random.default_rng(2).normal(0, 1, (5, 6))
    r = x - np.tanh(x) @ J.T - b
    expected = 0.5 * np.sum(r * r, axis=1)
    np.testing.assert_allclose(model.energy(x), expected, rtol=1e-12)


def test_force_is_minus_the_gradient_by_central_differences():
    # Central differences with h = 1e-5 have truncation error O(h^2 E''') ~ 1e-10 and rounding
    # error ~ 1e-16 |E| / h ~ 1e-11 for these O(1) energies: 1e-7 absolute is ample.
    model, _, _ = random_model()
    x = np.random.default_rng(4).normal(0, 1, (3, 6))
    f = model.force(x)
    h = 1e-5
    for i in range(6):
        e = np.zeros(6)
        e[i] = h
        grad = (model.energy(x + e) - model.energy(x - e)) / (2 * h)
        np.testing.assert_allclose(f[:, i], -grad, atol=1e-7)


def test_float32_model_agrees_with_float64_to_single_precision():
    m64, J, b = random_model()
    m32 = nlm.Model(J.astype(np.float32), b.astype(np.float32))
    x = np.random.default_rng(5).normal(0, 1, (4, 6))
    assert m32.energy(x).dtype == np.float32
    np.testing.assert_allclose(m32.energy(x), m64.energy(x), rtol=1e-5)


def test_euler_maruyama_stationary_variance_of_the_quadratic_energy():
    # J = 0, b = 0: E = x^2 / 2 per unit, and Euler-Maruyama is the AR(1) map
    # x' = (1 - dt) x + sqrt(2 T dt) xi, whose stationary variance is exactly 2T / (2 - dt).
    # From N(0, 1) starts the distance to it after k steps shrinks as (1 - dt)^(2k): 0.9^600.
    # n = 20 000 chains x 2 units are independent, so the sample variance has relative
    # standard error sqrt(2 / (n - 1)) = 0.0071; we allow 4 of them.
    T, dt, n = 1.5, 0.1, 20000
    model = nlm.Model(np.zeros((2, 2)), T=T, seed=7)
    x = model.sample(n, steps=300, dt=dt, seed=8)
    exact = 2 * T / (2 - dt)
    var = x.var(axis=0, ddof=1)
    assert np.all(np.abs(var / exact - 1) < 4 * np.sqrt(2 / (n - 1))), (var, exact)
    assert np.all(np.abs(x.mean(axis=0)) < 4 * np.sqrt(exact / n))


def test_annealed_sampling_follows_its_schedule_and_from_t_is_plain_sampling():
    # J = 0: Euler-Maruyama is x' = (1 - dt) x + sqrt(2 T_n dt) xi, so from x = 0 the variance
    # follows v' = (1 - dt)^2 v + 2 T_n dt exactly, T_n the schedule's temperature: 110 annealing
    # steps in blocks of 50 from 4 to T = 1 are 50 steps at 4^(2/3), 50 at 4^(1/3), 10 at 1.
    # 20 000 chains x 2 units: relative standard error sqrt(2 / (n - 1)) of the sample variance
    # per unit; 4 of them allowed.
    T, dt, n = 1.0, 0.1, 20000
    model = nlm.Model(np.zeros((2, 2)), T=T, seed=7)
    x = model.sample(np.zeros((n, 2)), steps=110, dt=dt, seed=8, anneal_from=4.0, anneal_steps=110)
    v = 0.0
    for t in [4 ** (2 / 3)] * 50 + [4 ** (1 / 3)] * 50 + [1.0] * 10:
        v = (1 - dt) ** 2 * v + 2 * t * dt
    var = x.var(axis=0, ddof=1)
    assert np.all(np.abs(var / v - 1) < 4 * np.sqrt(2 / (n - 1))), (var, v)
    # The schedule shows: 10 steps at T after the 4^(1/3) block leave v 7 % above the T = 1
    # stationary 2/(2 - dt), beyond the 4 % the check allows.
    assert v / (2 * T / (2 - dt)) > 1.06
    plain, _, _ = random_model(dtype="float32")
    same, _, _ = random_model(dtype="float32")
    np.testing.assert_array_equal(plain.sample(8, steps=60, seed=3),
                                  same.sample(8, steps=60, seed=3, anneal_from=plain.T, anneal_steps=40))
    with pytest.raises(ValueError, match="advance_annealed: 80 annealing steps in a run of 60"):
        plain.sample(8, steps=60, anneal_from=2.0, anneal_steps=80)
    with pytest.raises(ValueError, match="parallel tempering sets the chains' temperatures itself"):
        plain.sample(8, steps=60, sampler="pt", anneal_from=2.0, anneal_steps=20)
    with pytest.raises(ValueError, match="anneal_from and temperatures exclude each other"):
        plain.sample(8, steps=60, anneal_from=2.0, anneal_steps=20, temperatures=np.ones(8))


def test_the_same_seed_gives_the_same_bits_and_another_seed_other_bits():
    model, _, _ = random_model(dtype="float32")
    a = model.sample(8, steps=50, seed=11)
    model2, _, _ = random_model(dtype="float32")
    b = model2.sample(8, steps=50, seed=11)
    np.testing.assert_array_equal(a, b)
    c = model2.sample(8, steps=50, seed=12)
    assert not np.array_equal(a, c)


def test_clamped_units_keep_their_values_with_a_shared_mask_row():
    model, _, _ = random_model()
    values = np.zeros((4, 6))
    values[:, 0] = [0.1, 0.2, 0.3, 0.4]
    mask = np.zeros((1, 6))
    mask[0, 0] = 1
    for sampler in ("em", "mala", "pt"):
        x = model.sample(4, steps=40, sampler=sampler, seed=2, clamp_mask=mask, clamp_values=values, replicas=2)
        np.testing.assert_array_equal(x[:, 0], values[:, 0])
        assert np.all(x[:, 1:] != 0)


def test_sample_info_reports_mala_acceptance_and_pt_swap_rates():
    model, _, _ = random_model()
    _, info = model.sample(16, steps=100, sampler="mala", dt=0.01, info=True)
    assert 0.5 < info["acceptance_rate"] <= 1.0  # dt = 0.01 on an O(1) energy: nearly all accepted
    _, info = model.sample(16, steps=100, sampler="pt", replicas=3, t_max=1.5, swap_every=5, info=True)
    assert len(info["swap_rates"]) == 2 and all(0 <= r <= 1 for r in info["swap_rates"])


def test_bad_arguments_raise_with_sentences():
    model, _, _ = random_model()
    with pytest.raises(ValueError, match="expected 6 columns"):
        model.energy(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="2-D array"):
        model.energy(np.zeros(6))
    with pytest.raises(TypeError, match="real numbers"):
        model.energy(np.array([["a"] * 6]))
    with pytest.raises(ValueError, match="must be > 0"):
        model.sample(-3, steps=10)
    with pytest.raises(ValueError, match="choose 'em', 'mala' or 'pt'"):
        model.sample(2, steps=10, sampler="hmc")
    with pytest.raises(ValueError, match="give both"):
        model.sample(2, steps=10, clamp_mask=np.ones((1, 6)))
    with pytest.raises(ValueError, match="temperature"):
        nlm.Model(np.zeros((2, 2)), T=-1.0)
    with pytest.raises(ValueError, match="compiled types"):
        nlm.Model(np.zeros((2, 2)), dtype="float16")
    with pytest.raises(TypeError, match="unknown hyperparameter 'neuron'.*neurons"):
        nlm.Machine(neuron=4)
    with pytest.raises(ValueError, match="batch_size"):
        nlm.Machine(neurons=4, batch_size=0)
    with pytest.raises(ValueError, match="not a model phase"):
        nlm.Machine(neurons=4, sampler="mala")
    with pytest.raises(FileNotFoundError):
        nlm.read_model(scratch("missing.nlm"))


def test_no_crash_on_nans_negative_counts_wrong_types_and_bad_files():
    # Each bad argument is an exception with a sentence, never a crash or a silent NaN.
    model, J, b = random_model()
    bad_j = J.copy()
    bad_j[1, 2] = np.nan
    with pytest.raises(nlm.NumericalError, match="couplings contain a non-finite value at flat index 8"):
        nlm.Model(bad_j, b)
    with pytest.raises(TypeError):
        model.sample(2, steps=-5)                       # a count cannot be negative
    with pytest.raises(ValueError, match="neurons must be >= 0, got -4"):
        nlm.Machine(neurons=-4)
    with pytest.raises(ValueError, match="must be > 0"):
        model.sample(0, steps=5)
    with pytest.raises(TypeError, match="real numbers"):
        model.energy(np.zeros((2, 6), dtype=complex))
    with pytest.raises(ValueError, match="expected a 1-D array of 6 values"):
        nlm.Model(J, b[:4])
    machine = small_machine()
    data = patterns()
    data[3, 4] = np.nan
    with pytest.raises(ValueError, match="not finite|NaN|non-finite"):
        machine.train(data, updates=2)
    f = open(scratch("closed.txt"), "w")
    f.close()
    with pytest.raises(TypeError):
        nlm.read_model(f)                               # a file object, not a path
    with pytest.raises(IsADirectoryError):
        nlm.read_model(str(SCRATCH))
    with pytest.raises(IsADirectoryError):
        nlm.load_idx(str(SCRATCH))
    pathlib.Path(scratch("text.nlm")).write_text("not a model")
    with pytest.raises(ValueError, match="text.nlm"):
        nlm.read_model(str(SCRATCH / "text.nlm"))
    with pytest.raises(ValueError, match="text.nlm"):
        nlm.load_idx(str(SCRATCH / "text.nlm"))
    with pytest.raises(ValueError, match="per_octave"):
        nlm.UpdateStatistics(per_octave=0)
    with pytest.raises(ValueError, match="2 classes"):
        nlm.Classifier(np.zeros((4, 3)), [1, 1, 1, 1])
    with pytest.raises(ValueError, match="labels: 300"):
        nlm.Classifier(np.zeros((2, 3)), [1, 300])
    with pytest.raises(ValueError, match="class 3 has two"):
        nlm.UnitLayout(visible=4, classes=[3, 3])


def patterns(n=8, count=200, seed=0):
    """count samples of n units: two noisy prototypes, in [-1, 1]."""
    rng = np.random.default_rng(seed)
    protos = np.sign(rng.normal(size=(2, n)))
    x = protos[rng.integers(0, 2, count)] * 0.8 + rng.normal(0, 0.1, (count, n))
    return np.clip(x, -1, 1).astype(np.float32)


def small_machine(**kw):
    hp = dict(neurons=8, batch_size=20, persistent_chains=20, langevin_steps=3, learning_rate=1e-2, seed=5,
              learn_field=True)
    hp.update(kw)
    return nlm.Machine(**hp)


def test_training_lowers_the_data_energy_and_records_a_curve():
    data = patterns()
    m = small_machine()
    m.fit_field(data)
    before = m.energy(data).mean()
    assert m.train(data, epochs=30) == 300  # 200 samples / 20 per batch = 10 updates per epoch
    assert m.energy(data).mean() < before
    curve = m.curve
    assert curve.shape == (30, 3) and curve[-1, 1] == 300
    assert m.hyperparameters["neurons"] == 8 and m.hyperparameters["step_rule"] == "plain"


def test_callback_sees_every_kth_update_and_can_stop():
    data = patterns()
    m = small_machine()
    seen = []

    def cb(updates, signal):
        seen.append(updates)
        return updates >= 30

    assert m.train(data, updates=100, callback=cb, every=10) == 30
    assert seen == [10, 20, 30]


def test_a_resumed_run_ends_with_the_uninterrupted_runs_bits():
    data = patterns()
    whole = small_machine()
    whole.train(data, updates=30)
    path = scratch("resume.nlm")
    first = small_machine()
    first.train(data, updates=20, checkpoint=path, checkpoint_every=10)
    again = small_machine()
    assert again.resume(path) == 20
    again.train(data, updates=10)
    np.testing.assert_array_equal(again.J, whole.J)
    np.testing.assert_array_equal(again.b, whole.b)
    np.testing.assert_array_equal(again.persistent_chains, whole.persistent_chains)


def test_parallel_tempering_model_phase_resumes_bit_for_bit():
    data = patterns()
    whole = small_machine(sampler="pt", replicas=3, t_max=1.5)
    whole.train(data, updates=12)
    path = scratch("resume_pt.nlm")
    first = small_machine(sampler="pt", replicas=3, t_max=1.5)
    first.train(data, updates=6, checkpoint=path)
    again = small_machine(sampler="pt", replicas=3, t_max=1.5)
    again.resume(path)
    again.train(data, updates=6)
    np.testing.assert_array_equal(again.J, whole.J)


def test_a_checkpoint_of_another_configuration_is_refused():
    data = patterns()
    path = scratch("refuse.nlm")
    small_machine().train(data, updates=5, checkpoint=path)
    with pytest.raises(ValueError, match="learning_rate"):
        small_machine(learning_rate=2e-2).resume(path)


def test_model_file_round_trip_and_the_model_of_a_machine():
    data = patterns()
    m = small_machine()
    m.train(data, updates=10)
    path = scratch("model.nlm")
    m.save_model(path)
    saved = nlm.read_model(path)
    assert saved["kind"].startswith("model file") and saved["updates"] == 10 and saved["neurons"] == 8
    np.testing.assert_array_equal(saved["J"], m.J.astype(np.float64))
    np.testing.assert_array_equal(saved["b"], m.b.astype(np.float64))
    model = nlm.Model(m.J, m.b)
    np.testing.assert_allclose(model.energy(data), m.energy(data), rtol=1e-6)


def test_training_releases_the_gil():
    # With the GIL held by the training thread, the loop below could not run until training
    # ended; released, it runs thousands of times meanwhile.
    import threading

    data = patterns()
    m = small_machine()
    t = threading.Thread(target=lambda: m.train(data, updates=3000))
    t.start()
    spins = 0
    while t.is_alive():
        spins += 1
    t.join()
    assert m.updates == 3000
    assert spins > 1000, spins


def test_ctrl_c_saves_the_checkpoint_and_raises_keyboard_interrupt():
    import signal
    import subprocess
    import sys

    path = scratch("interrupted.nlm")
    script = f"""
import sys, numpy as np, nlm
rng = np.random.default_rng(0)
data = np.clip(np.sign(rng.normal(size=(200, 8))) * 0.8, -1, 1)
m = nlm.Machine(neurons=8, batch_size=20, persistent_chains=20, langevin_steps=3, learning_rate=1e-2)
def started(updates, signal):
    if updates == 10:
        print("started", flush=True)
m.train(data, updates=10**9, checkpoint={path!r}, checkpoint_every=0, callback=started, every=10)
"""
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "started"
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode != 0
    assert "KeyboardInterrupt" in err, err
    saved = nlm.read_model(path)  # written on the interrupt, complete (atomic)
    assert saved["updates"] >= 10
    again = small_machine(learn_field=False, seed=0)
    assert again.resume(path) == saved["updates"]


def doc_blocks(path):
    """The ```python blocks of a doc in the repository."""
    text = (pathlib.Path(__file__).resolve().parents[2] / path).read_text()
    blocks, inside = [], None
    for line in text.splitlines():
        if inside is None and line.startswith("```python"):
            inside = []
        elif inside is not None and line.startswith("```"):
            blocks.append("\n".join(inside))
            inside = None
        elif inside is not None:
            inside.append(line)
    return blocks


@pytest.mark.parametrize("doc", ["README.md", "docs/python.md"])
def test_the_docs_python_runs_at_a_small_size(doc, monkeypatch):
    # Each quoted block runs with `data` given, its long runs shortened: a doc cannot quote a
    # name or an argument the module lacks.
    import re

    blocks = doc_blocks(doc)
    assert blocks, f"{doc} quotes no Python"
    SCRATCH.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(SCRATCH)
    # The UCI digits' file as scripts/get_digits.sh leaves it, here 16 synthetic images in its
    # format (written plain: the reader takes plain and gzipped files alike).
    digits = pathlib.Path("data/digits")
    digits.mkdir(parents=True, exist_ok=True)
    (digits / "digits.csv.gz").write_text("".join(",".join(str((3 * r + 5 * i) % 17) for i in range(64)) + f",{r % 10}\n"
                                                  for r in range(16)))
    for code in blocks:
        code = "\n".join(l for l in code.splitlines() if not l.startswith("data = ..."))
        code = re.sub(r"updates=\d+", "updates=20", code)
        code = re.sub(r"steps=\d+", "steps=20", code)
        code = code.replace("progress=True", "progress=False")
        exec(compile(code, doc, "exec"), {"data": patterns(16, 300)})


def test_ais_log_z_of_a_gaussian_energy_is_its_closed_form():
    # J = 0: E = |x - b|^2 / 2, so Z = (2 pi T)^(N/2) exactly. AIS is unbiased in Z and reports
    # its standard error; 5 of them (plus 0.01 for the path's bias in log) bound the error.
    N, T = 3, 1.3
    model = nlm.Model(np.zeros((N, N)), np.array([0.5, -0.2, 0.1]), T=T, seed=1, dtype="float64")
    z = model.log_z(temperatures=200, particles=32, runs=2, time_step=0.05, base_sd=1.0, seed=4)
    exact = N / 2 * np.log(2 * np.pi * T)
    assert abs(z["log_z"] - exact) < 5 * z["standard_error"] + 0.01, (z["log_z"], exact, z["standard_error"])
    assert len(z["run_log_z"]) == 2 and z["log_weights"].shape == (64,)


def test_ais_interval_brackets_a_gaussian_log_z_from_both_sides():
    # The same closed form; from exact draws (x = b + sqrt(T) z) the reverse path is a stochastic
    # upper bound, and the bidirectional interval (Markov's inequality on each side, 95 %) holds.
    N, T = 3, 1.3
    b = np.array([0.5, -0.2, 0.1])
    model = nlm.Model(np.zeros((N, N)), b, T=T, seed=1, dtype="float64")
    exact = N / 2 * np.log(2 * np.pi * T)
    draws = b + np.sqrt(T) * np.random.default_rng(5).standard_normal((64, N))
    r = model.log_z(temperatures=200, particles=32, runs=2, time_step=0.05, seed=4, reverse_from=draws)
    assert r["reverse"] and abs(r["log_z"] - exact) < 5 * r["standard_error"] + 0.01, (r["log_z"], exact)
    z = model.log_z(temperatures=200, particles=32, runs=2, time_step=0.05, seed=4, reverse_burn_in=100)
    lower, upper = z["interval"]
    assert lower <= exact <= upper and z["consistent"] and not z["reverse_result"]["warnings"]
    assert z["reverse_result"]["reverse"] and not z["reverse"]
    assert z["uncertainty"] >= max(z["standard_error"], z["run_spread"] / np.sqrt(2)) - 1e-12
    assert z["log_z"] == model.log_z(temperatures=200, particles=32, runs=2, time_step=0.05, seed=4)["log_z"]
    with pytest.raises(ValueError, match="reverse_from"):
        model.log_z(reverse_from=np.zeros((4, 2)))
    with pytest.raises(ValueError, match="exclude each other"):
        model.log_z(reverse_from=draws, reverse_burn_in=10)


def test_fixed_points_of_an_uncoupled_network_are_its_field():
    # J = 0: f(x) = -x + b has the single fixed point x* = b, with A = -I (all eigenvalues -1).
    b = np.array([0.4, -0.3, 0.2, 0.0])
    model = nlm.Model(np.zeros((4, 4)), b, dtype="float64")
    starts = np.random.default_rng(3).normal(0, 1, (10, 4))
    c = model.fixed_points(starts)
    fp = c["fixed_points"]
    assert c["starts"] == 10 and c["not_converged"] == 0 and len(c["slow_points"]["energy"]) == 0
    assert fp["states"].shape == (1, 4) and fp["basin"] == [1.0] and fp["stable"] == [True]
    np.testing.assert_allclose(fp["states"][0], b, atol=1e-8)
    np.testing.assert_allclose(fp["eigenvalues"][0], -np.ones(4), atol=1e-10)
    assert list(c["outcome"]) == [0] * 10


def test_asymmetry_and_the_symmetric_split():
    rng = np.random.default_rng(6)
    A = rng.normal(size=(5, 5))
    sym, anti = nlm.split_symmetric(A)
    np.testing.assert_allclose(sym + anti, A, atol=1e-15)
    np.testing.assert_array_equal(sym, sym.T)
    np.testing.assert_array_equal(anti, -anti.T)
    assert nlm.asymmetry(sym) == 0.0
    assert abs(nlm.asymmetry(anti) - 2.0) < 1e-12


def test_mixing_summary_of_independent_draws():
    # Independent N(0, 1) draws: tau_int = 1, ESS = all draws, split-R-hat = 1. With 4 x 2000
    # draws, R-hat's spread about 1 is ~ 1/sqrt(2000) and tau's estimate is within ~0.1 of 1.
    x = np.random.default_rng(9).normal(size=(4, 2000))
    m = nlm.mixing_summary(x)
    assert abs(m["split_rhat"] - 1) < 0.02
    assert 0.8 < m["tau"] < 1.2
    assert 0.8 * 8000 < m["ess"] < 1.25 * 8000
    # An AR(1) chain with coefficient 0.9 has tau_int = (1 + 0.9) / (1 - 0.9) = 19.
    y = np.zeros((4, 20000))
    e = np.random.default_rng(10).normal(size=(4, 20000))
    for t in range(1, 20000):
        y[:, t] = 0.9 * y[:, t - 1] + e[:, t]
    assert 15 < nlm.mixing_summary(y)["tau"] < 23


@pytest.mark.skipif("NLM_EXAMPLES_DIR" not in os.environ, reason="the example programs are not built (NLM_BUILD_EXAMPLES)")
def test_a_checkpoint_crosses_python_to_cpp_and_back_bit_for_bit():
    # Python trains 10 updates and saves a checkpoint; the C++ program mnist_train resumes it to
    # 20 on the same data (a float32 .npy in [-1, 1], which it keeps as is); Python resumes that
    # to 30. The uninterrupted 30-update run in Python must end with the same bits.
    import subprocess

    data = patterns(count=200)
    folder = SCRATCH / "crossing"
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / "data.npy", data)
    # mnist_train's quick preset with the sizes below: field learned, 1 % chain restarts.
    hp = dict(neurons=8, batch_size=20, persistent_chains=20, langevin_steps=3, learning_rate=1e-2, seed=5,
              learn_field=True, chain_restart=0.01)

    def machine():
        m = nlm.Machine(**hp)
        m.fit_field(data)
        return m

    whole = machine()
    whole.train(data, updates=30)
    first = machine()
    checkpoint = folder / "checkpoint.nlm"
    first.train(data, updates=10, checkpoint=str(checkpoint))
    program = pathlib.Path(os.environ["NLM_EXAMPLES_DIR"]) / "mnist_train"
    run = subprocess.run([str(program), "--data", str(folder / "data.npy"), "--preset", "quick", "--updates", "20",
                          "--b_size", "20", "--N_model", "20", "--n_t", "3", "--k", "1e-2", "--seed", "5",
                          "--anneal", "0", "--out", str(folder), "--resume"], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "resumed from" in run.stdout and "at update 10" in run.stdout, run.stdout
    last = machine()
    assert last.resume(str(checkpoint)) == 20
    last.train(data, updates=10)
    np.testing.assert_array_equal(last.J, whole.J)
    np.testing.assert_array_equal(last.b, whole.b)
    np.testing.assert_array_equal(last.persistent_chains, whole.persistent_chains)


def test_network_drift_and_its_stationary_statistics():
    rng = np.random.default_rng(12)
    J = rng.normal(0, 0.3, (5, 5))
    b = rng.normal(0, 0.2, 5)
    net = nlm.Network(J, b, dtype="float64")
    x = rng.normal(size=(3, 5))
    np.testing.assert_allclose(net.drift(x), -x + np.tanh(x) @ J.T + b, rtol=1e-12)
    # J = 0: x' = (1 - dt) x + dt b + sqrt(2 T dt) xi, an AR(1) map about b with stationary
    # variance 2T / (2 - dt) (as for the model's quadratic energy; 4 relative SEs of 20 000 chains).
    T, dt, n = 0.5, 0.2, 20000
    free = nlm.Network(np.zeros((2, 2)), np.array([0.3, -0.6]), T=T, seed=2, dtype="float64")
    x = free.run(n, steps=200, dt=dt, seed=3)
    exact = 2 * T / (2 - dt)
    assert np.all(np.abs(x.var(axis=0, ddof=1) / exact - 1) < 4 * np.sqrt(2 / (n - 1)))
    assert np.all(np.abs(x.mean(axis=0) - [0.3, -0.6]) < 4 * np.sqrt(exact / n))
    final, frames = free.run(4, steps=10, dt=dt, every=5)
    assert frames.shape == (2, 4, 2)
    np.testing.assert_array_equal(frames[-1], final)


def test_a_taught_cycle_is_replayed_by_the_plain_network():
    # Three random +-1 patterns of 40 units; the delta rule makes J tanh(xi_t) + b approach
    # xi_{t+1}, so the synchronous map (dt = 1, T = 0) from xi_1 visits xi_2, xi_3, xi_1 (signs).
    rng = np.random.default_rng(13)
    xi = np.sign(rng.normal(size=(3, 40)))
    m = nlm.Machine(neurons=40, batch_size=1, persistent_chains=1, coupling_strength=0.0, learning_rate=0.05,
                    learn_field=True, weight_decay=0.0, dtype="float64")
    m.set_field(xi.mean(axis=0))
    assert m.learn_sequence(xi, cycles=200) == 600
    net = nlm.Network(m.J, m.b, dtype="float64")
    _, frames = net.run(xi[:1], steps=6, dt=1.0, every=1)
    visited = [int(np.argmax(xi @ np.sign(f[0]))) for f in frames]
    assert visited == [1, 2, 0, 1, 2, 0], visited
    assert all(np.array_equal(np.sign(frames[t][0]), xi[(t + 1) % 3]) for t in range(6))


def test_unit_layout_codes_clamps_and_predictions():
    layout = nlm.UnitLayout(4, classes=[1, 3], units_per_class=2, label_scale=0.5, latent=1)
    assert (layout.neurons, layout.labels, layout.first_label, layout.first_latent) == (9, 4, 4, 8)
    images = np.arange(8, dtype=float).reshape(2, 4) / 10
    rows = layout.data_rows(images, [3, 1])
    np.testing.assert_array_equal(rows[:, :4], images)
    np.testing.assert_array_equal(rows[0, 4:8], [-0.5, -0.5, 0.5, 0.5])  # class 3: the second pair is +a
    np.testing.assert_array_equal(rows[1, 4:8], [0.5, 0.5, -0.5, -0.5])
    np.testing.assert_array_equal(rows[:, 8], [0, 0])  # latent units start at 0
    mask, values = layout.label_clamp([1, 3, 3])
    assert mask.dtype == np.uint8 and mask.shape == (3, 9)
    np.testing.assert_array_equal(mask[:, 4:8], 1)
    np.testing.assert_array_equal(mask[:, :4], 0)
    np.testing.assert_array_equal(values[2, 4:8], [-0.5, -0.5, 0.5, 0.5])
    mask, values = layout.image_clamp(images, np.array([[1, 0, 1, 0]]))
    np.testing.assert_array_equal(mask[:, :4], [[1, 0, 1, 0]] * 2)
    np.testing.assert_array_equal(values[:, :4], images)
    assert list(layout.predict(np.array([[0.1, 0.2, 0.9, -1.0], [1, 1, 0, 0]]))) == [1, 1]
    assert list(layout.predict(np.array([[0, 0, 0.5, 0.6]]))) == [3]
    assert nlm.parse_layout(layout.text()).text() == layout.text()
    with pytest.raises(ValueError, match="no label units"):
        nlm.UnitLayout(4).label_clamp([1])
    with pytest.raises(ValueError, match="not a whole number"):
        layout.data_rows(images, [1.5, 3])


def test_class_conditional_sampling_holds_the_label_code_and_the_layout_travels_in_the_model_file():
    layout = nlm.UnitLayout(8, classes=[0, 1], units_per_class=3)
    data = patterns(8, 200)
    labels = (data[:, 0] > 0).astype(np.uint8)
    m = small_machine(neurons=layout.neurons)
    m.train(layout.data_rows(data, labels), updates=20)
    path = scratch("labels_model.nlm")
    m.save_model(path, layout=layout)
    saved = nlm.read_model(path)
    assert saved["layout"].text() == layout.text()
    model = nlm.Model(saved["J"], saved["b"], dtype="float32")
    mask, values = layout.label_clamp([0, 1])
    x = model.sample(2, steps=50, clamp_mask=mask, clamp_values=values, seed=3)
    np.testing.assert_array_equal(x[:, layout.first_label:layout.first_latent], values[:, 8:14].astype(np.float32))


def test_adam_steps_resume_bit_for_bit_with_their_moments():
    # Adam's moments are part of the checkpoint: a resumed run equals the uninterrupted one.
    data = patterns()
    whole = small_machine(step_rule="adam", learning_rate=1e-3)
    whole.train(data, updates=20)
    assert whole.hyperparameters["step_rule"] == "adam"
    path = scratch("adam.nlm")
    small_machine(step_rule="adam", learning_rate=1e-3).train(data, updates=10, checkpoint=path)
    again = small_machine(step_rule="adam", learning_rate=1e-3)
    again.resume(path)
    again.train(data, updates=10)
    np.testing.assert_array_equal(again.J, whole.J)
    plain = small_machine(learning_rate=1e-3)
    plain.train(data, updates=20)
    assert not np.array_equal(plain.J, whole.J)
    with pytest.raises(ValueError, match="step rule"):
        small_machine(step_rule="sgd")


# ---- views -------------------------------------------------------------------------------

def test_j_b_and_the_chains_are_read_only_views_that_outlive_their_machine():
    import gc
    machine = small_machine(dtype="float64")
    J, b, x = machine.J, machine.b, machine.persistent_chains
    for view in (J, b, x):
        assert not view.flags.writeable and not view.flags.owndata
        with pytest.raises(ValueError, match="read-only"):
            view[0] = 1.0
    assert np.shares_memory(J, machine.J) and np.shares_memory(x, machine.persistent_chains)
    before = np.array(J)
    machine.train(patterns(), updates=5)
    assert not np.array_equal(J, before)           # the view follows training ...
    np.testing.assert_array_equal(J, machine.J)    # ... and is the machine's J
    new_j = np.random.default_rng(1).normal(0, 0.1, (8, 8))
    machine.set_couplings(new_j)                   # a setter writes into the same buffer
    np.testing.assert_array_equal(J, new_j)
    path = scratch("views.nlm")
    machine.save_checkpoint(path)
    other = small_machine(dtype="float64")
    other_j = other.J
    other.resume(path)                             # so does a checkpoint's load
    np.testing.assert_array_equal(other_j, new_j)
    snapshot = np.array(J)
    del machine, other
    gc.collect()
    np.testing.assert_array_equal(J, snapshot)     # the view keeps its machine alive
    model = nlm.Model(new_j, np.arange(8.0), dtype="float64")
    np.testing.assert_array_equal(model.J, new_j)
    np.testing.assert_array_equal(model.b, np.arange(8.0))
    assert not model.J.flags.writeable


# ---- conditional AIS, update statistics, power laws ------------------------------------

def test_conditional_log_z_of_a_gaussian_energy_is_its_closed_form():
    # J = 0: E = |x - b|^2 / 2. Clamping units C at v leaves Z(v) = exp(-|v_C - b_C|^2 / (2T))
    # (2 pi T)^((N - |C|)/2) exactly. As for log Z: within 5 standard errors plus 0.01.
    N, T = 4, 0.8
    b = np.array([0.5, -0.2, 0.1, 0.3])
    model = nlm.Model(np.zeros((N, N)), b, T=T, seed=1, dtype="float64")
    mask = np.array([[1, 0, 1, 0]])
    values = np.array([[0.0, 0.0, 0.0, 0.0], [1.0, 0.0, -1.0, 0.0], [0.5, 0.0, 0.1, 0.0]])
    z = model.conditional_log_z(mask, values, temperatures=200, particles=32, runs=2, time_step=0.05, seed=2)
    held = mask[0] == 1
    exact = [-np.sum((v[held] - b[held]) ** 2) / (2 * T) + (N - held.sum()) / 2 * np.log(2 * np.pi * T)
             for v in values]
    assert z["log_z"].shape == (3,) and len(z["conditions"]) == 3
    for got, want, se in zip(z["log_z"], exact, z["standard_error"]):
        assert abs(got - want) < 5 * se + 0.01, (got, want, se)
    with pytest.raises(ValueError, match="clamp_mask: expected 4 columns"):
        model.conditional_log_z(np.ones((1, 3)), values)


def test_update_statistics_histogram_the_applied_steps():
    # One update of a float64 machine: |J_before - J_after| is the step (weight decay does not
    # constrain J), to ~1e-17 absolute, far from any bin edge's tie; so NumPy's histogram of
    # it over the recorded edges must equal the recorded counts.
    machine = small_machine(dtype="float64")
    stats = nlm.UpdateStatistics(record_signal=True)
    before = np.array(machine.J)
    machine.train(patterns(), updates=1, statistics=stats)
    step = np.abs(before - machine.J).ravel()
    (w,) = stats.step_windows()
    assert (w["first"], w["end"], w["updates"], w["values_per_update"]) == (1, 10, 1, 64)
    assert w["total"] == 64 and w["zeros"] == np.sum(step == 0)
    counts, _ = np.histogram(step[step > 0], bins=w["edges"])
    np.testing.assert_array_equal(w["counts"], counts)
    assert len(stats.signal_windows()) == 1
    machine.train(patterns(), updates=10, statistics=stats)   # updates 2..11: windows [1,10) and [10,100)
    assert [(v["first"], v["updates"]) for v in stats.step_windows()] == [(1, 9), (10, 2)]
    d = SCRATCH / "update_stats"
    stats.save(str(d))
    csv = (d / "steps_windows.csv").read_text().splitlines()
    assert csv[1].startswith("steps_1-10,1,10,9,64,")
    np.testing.assert_array_equal(np.load(d / "steps_1-10_xbins.npy"), stats.step_windows()[0]["edges"])


def test_power_law_fit_recovers_a_pareto_exponent():
    # Pareto with p(x) ~ x^-2.5 above 1: the MLE has standard error (alpha - 1)/sqrt(n_tail);
    # 4 of them bound the error (the x_min choice adds little for a pure power law).
    x = np.random.default_rng(3).pareto(1.5, 5000) + 1.0
    f = nlm.fit_power_law(x, bootstrap=0)
    assert abs(f["alpha"] - 2.5) < 4 * f["alpha_se"], f
    assert f["n"] == 5000 and f["n_tail"] >= 50 and f["xmin"] >= 1.0


# ---- sample-quality metrics --------------------------------------------------------------

def test_frechet_distance_and_moment_errors_against_numpy():
    rng = np.random.default_rng(7)
    a = rng.normal(0, 1, (400, 5))
    b = rng.normal(0.3, 1, (300, 5)) @ rng.normal(0, 0.7, (5, 5))
    ma, mb = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)   # both divided by n - 1, as nlm's
    w, v = np.linalg.eigh(ca)
    root = v @ np.diag(np.sqrt(w)) @ v.T
    cross = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(root @ cb @ root), 0, None)))
    expected = np.sum((ma - mb) ** 2) + np.trace(ca) + np.trace(cb) - 2 * cross
    assert nlm.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)
    e = nlm.moment_errors(b, a)
    assert e["mean_rms"] == pytest.approx(np.sqrt(np.mean((mb - ma) ** 2)), rel=1e-12)
    assert e["covariance_rms"] == pytest.approx(np.sqrt(np.mean((cb - ca) ** 2)), rel=1e-12)
    assert e["covariance_relative"] == pytest.approx(np.linalg.norm(cb - ca) / np.linalg.norm(ca), rel=1e-12)
    assert nlm.pca_frechet_distance(a, a, components=3) == pytest.approx(0.0, abs=1e-9)


def test_adversarial_accuracy_inverted_backgrounds_and_the_classifier():
    rng = np.random.default_rng(8)
    real = rng.normal(0, 1, (50, 4))
    assert nlm.adversarial_accuracy(real, real)["value"] == 0.0     # copies: every nearest is a copy
    far = nlm.adversarial_accuracy(real, real + 100.0)                 # apart: every nearest is its own kind
    assert (far["value"], far["real"], far["synthetic"], far["count"]) == (1.0, 1.0, 1.0, 50)
    dark, light = -np.ones((4, 4)), -np.ones((4, 4))
    light[0, :] = light[-1, :] = light[:, 0] = light[:, -1] = 1.0      # a light 1-pixel frame
    assert nlm.inverted_fraction(np.stack([dark.ravel(), light.ravel()]), border=1) == 0.5
    with pytest.raises(ValueError, match="square"):
        nlm.inverted_fraction(np.zeros((2, 5)))
    labels = np.repeat([3, 7], 100)
    x = rng.normal(0, 0.3, (200, 6)) + np.where(labels[:, None] == 3, 2.0, -2.0)
    c = nlm.Classifier(x, labels)
    assert c.classes == [3, 7] and c.accuracy(x, labels) == 1.0
    np.testing.assert_array_equal(c.predict(x[[0, 150]]), [3, 7])
    a = c.assign(x)
    assert a["confident_fraction"] == 1.0 and a["class_fractions"] == [0.5, 0.5] and a["balance_entropy"] == 1.0
    # 95 % intervals: all samples confident, so the Wilson interval's upper end is exactly 1
    assert a["confident_fraction_interval"][1] == 1.0 and a["confident_fraction_interval"][0] < 1.0
    assert len(a["class_fraction_intervals"]) == 2 and a["balance_entropy_interval"][1] == pytest.approx(1.0)
    np.testing.assert_allclose(c.probabilities(x).sum(1), 1.0, rtol=1e-12)


# ---- IDX ---------------------------------------------------------------------------------

def test_idx_images_and_labels_plain_and_gzipped():
    import gzip
    import struct
    images = np.random.default_rng(9).integers(0, 256, (3, 4, 5), dtype=np.uint8)
    labels = np.array([7, 0, 255], dtype=np.uint8)
    img = struct.pack(">IIII", 0x803, 3, 4, 5) + images.tobytes()
    lab = struct.pack(">II", 0x801, 3) + labels.tobytes()
    for name, data in (("i.idx", img), ("l.idx", lab)):
        pathlib.Path(scratch(name)).write_bytes(data)
        pathlib.Path(scratch(name + ".gz")).write_bytes(gzip.compress(data))
    for suffix in ("", ".gz"):
        got = nlm.load_idx(str(SCRATCH / ("i.idx" + suffix)))
        assert got.dtype == np.uint8 and got.shape == (3, 4, 5)
        np.testing.assert_array_equal(got, images)
        np.testing.assert_array_equal(nlm.load_idx(str(SCRATCH / ("l.idx" + suffix))), labels)
    pathlib.Path(scratch("bad.idx")).write_bytes(struct.pack(">II", 0x802, 1) + b"\0")
    with pytest.raises(ValueError, match="bad magic number 0x00000802"):
        nlm.load_idx(str(SCRATCH / "bad.idx"))
    pathlib.Path(scratch("short.idx")).write_bytes(img[:-1])
    with pytest.raises(ValueError, match="short.idx"):
        nlm.load_idx(str(SCRATCH / "short.idx"))
    with pytest.raises(FileNotFoundError):
        nlm.load_idx(scratch("missing.idx"))


# ---- bf16 --------------------------------------------------------------------------------

@pytest.mark.skipif(not nlm.has_bf16, reason="built without oneDNN")
def test_bf16_products_agree_to_bf16_rounding_and_share_the_float32_checkpoint():
    # Each product rounds J and tanh(x) to bf16 (relative error <= 2^-9 each) and accumulates
    # in float32: the drive h = J tanh(x) of 6 terms errs by <= 2^-8 sum|J||tanh x| ~ 1e-2 of
    # the O(1) residual, so the energy (a square of it) agrees within 3e-2 relative.
    _, J, b = random_model()
    m32 = nlm.Model(J, b, dtype="float32")
    m16 = nlm.Model(J, b, precision="bf16")
    assert (m16.precision, m32.precision) == ("bf16", "float32")
    x = np.random.default_rng(5).normal(0, 1, (8, 6)).astype(np.float32)
    np.testing.assert_allclose(m16.energy(x), m32.energy(x), rtol=3e-2, atol=1e-3)
    machine = small_machine(precision="bf16")
    assert machine.precision == "bf16"
    machine.train(patterns(), updates=20)
    path = scratch("bf16.nlm")
    machine.save_checkpoint(path)
    fp32 = small_machine()
    fp32.resume(path)                         # J is float32 in both: the checkpoint loads as is
    np.testing.assert_array_equal(fp32.J, machine.J)
    with pytest.raises(ValueError, match="model phase 'em' only"):
        nlm.Machine(neurons=4, precision="bf16", sampler="pt")
    with pytest.raises(ValueError, match="compiled precisions"):
        nlm.Model(J, b, precision="fp16")


# ---- examples/python at a small size -----------------------------------------------------

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples" / "python"
SHARED = pathlib.Path(__file__).resolve().parents[3] / "shared" / "data"
MNIST = f"{SHARED / 'mnist10k-images-idx3-ubyte.gz'},{SHARED / 'mnist10k-labels-idx1-ubyte.gz'}"


def run_example(name, *args):
    """Runs examples/python/<name> as a user does (a new interpreter) and returns its stdout,
    whose last line is the example's summary line."""
    import subprocess
    import sys
    env = dict(os.environ, MPLBACKEND="Agg")
    r = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True, env=env,
                       timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


needs_mnist = pytest.mark.skipif(not (SHARED / "mnist10k-images-idx3-ubyte.gz").exists(),
                                 reason="../shared/data (the test MNIST digits) is not beside the clone")


def quoted_example_commands():
    """The `python3 examples/python/<name>.py ...` lines of the docs' ```sh blocks, in order."""
    import shlex
    root = EXAMPLES.parents[1]
    commands = []
    for doc in ("docs/examples.md", "docs/python.md", "README.md"):
        in_block = False
        for line in (root / doc).read_text().splitlines():
            if line.startswith("```"):
                in_block = line.startswith("```sh")
                continue
            if in_block and line.startswith("python3 examples/python/"):
                commands.append((doc, shlex.split(line)[1:]))
    return commands


# Appended to each quoted command (argparse takes an option's last value): small sizes, the
# test digits, scratch outputs; the census reads the quick example's model.
SMALL = {
    "mnist_quick.py": ["--images", "300", "--held-out", "30", "--updates", "20", "--chains", "6", "--steps", "50"],
    "conditional_generation.py": ["--digits", "1,3", "--images", "200", "--held-out", "30", "--label-units", "2",
                                  "--updates", "10", "--per-class", "3", "--steps", "30"],
    "fixed_point_census.py": ["--held-out", "30", "--starts", "2", "--data-starts", "1", "--descent-steps", "50"],
}


@needs_mnist
def test_python_examples_quoted_in_the_docs_run_and_end_with_their_summary_lines():
    pytest.importorskip("matplotlib")
    commands = quoted_example_commands()
    assert {pathlib.Path(c[0]).name for _, c in commands} == set(SMALL), commands  # each example is quoted
    outs = {name: SCRATCH / ("ex_" + name[:-3]) for name in SMALL}
    for doc, (script, *args) in commands:
        name = pathlib.Path(script).name
        extra = ["--data", MNIST, "--out", str(outs[name]), *SMALL[name]]
        if name == "fixed_point_census.py":
            extra += ["--model", str(outs["mnist_quick.py"] / "model.nlm")]
        out = run_example(name, *args, *extra)
        last = out.strip().splitlines()[-1]
        assert last.startswith(name[:-3] + ": "), (doc, args, out)
        assert {"mnist_quick.py": "20 updates in ", "conditional_generation.py": "recognised as requested ",
                "fixed_point_census.py": "from 3 starts"}[name] in last, last
    quick = outs["mnist_quick.py"]
    assert (quick / "samples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert nlm.read_model(str(quick / "checkpoint.nlm"))["updates"] == 20
    layout = nlm.read_model(str(outs["conditional_generation.py"] / "model.nlm"))["layout"]
    assert (layout.classes, layout.units_per_class, layout.neurons) == ([1, 3], 2, 788)


def test_thread_count_is_settable_and_results_do_not_depend_on_it():
    before = nlm.threads()
    try:
        nlm.set_threads(1)
        assert nlm.threads() == 1
        a = random_model(n=40, dtype="float32")[0].sample(300, steps=20, seed=3)  # a fresh noise stream each
        nlm.set_threads(2)
        b = random_model(n=40, dtype="float32")[0].sample(300, steps=20, seed=3)
    finally:
        nlm.set_threads(0)
    np.testing.assert_array_equal(a, b)  # counter-based noise: the same bits on any thread count
    assert nlm.threads() >= 1 and before >= 1
    with pytest.raises(ValueError, match="thread count must be >= 0"):
        nlm.set_threads(-1)
