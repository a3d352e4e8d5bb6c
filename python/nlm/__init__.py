"""nlm from Python: the Neural Langevin Machine of the C++ library, NumPy arrays in and out.

    import numpy as np, nlm
    machine = nlm.Machine(neurons=64, batch_size=100, persistent_chains=100, learning_rate=2e-3)
    machine.train(data, updates=500)          # data: (samples, 64) in [-1, 1]
    x = machine.sample(36, steps=2000)        # 36 chains from N(0, I); tanh(x) are the samples
    model = nlm.Model(machine.J, machine.b)   # the model alone: energy, force, sample

`Model` and `Machine` choose the compiled class by dtype (float32, the default, or float64)
(or precision='bf16') and, for the machine, by the model phase's sampler ('em' or 'pt'). Arrays
are copied in (any real dtype, converted); results are new arrays, except J, b and the
persistent chains, which are read-only views. docs/python.md has the whole API.
"""
import sys as _sys

_BUILT_FOR = "@Python3_EXECUTABLE@"  # the interpreter CMake built the module for
try:
    import numpy as _np
    from . import _nlm  # noqa: F401
except ImportError as _e:
    raise ImportError(
        f"nlm was built for {_BUILT_FOR}, whose NumPy it needs; this is {_sys.executable}. Run it with "
        f"{_BUILT_FOR}, or rebuild with cmake -DPython3_EXECUTABLE={_sys.executable} (with NumPy installed "
        f"for that interpreter): {_e}") from _e

from ._nlm import (AttractorLearner32, AttractorLearner64, AttractorModel32, AttractorModel64,
                   LagrangianHardSigmoid32, LagrangianHardSigmoid64, LagrangianRelu32, LagrangianRelu64,
                   LagrangianSigmoid32, LagrangianSigmoid64, Classifier, Machine32, Machine64, MachinePt32, MachinePt64, Model32, Model64, Network32, Network64,
                   NumericalError, UnitLayout, UpdateStatistics, __version__, adversarial_accuracy, asymmetry,
                   fit_power_law, frechet_distance, has_bf16, hyperparameter_keys, inverted_fraction, load_idx,
                   langevin, load_uci_digits, mixing_summary, moment_errors, orthogonality, parse_layout,
                   pca_frechet_distance, read_model, set_threads, split_symmetric, threads, uci_digit_patterns)

__all__ = ["Model", "Network", "Machine", "UnitLayout", "parse_layout", "read_model", "load_idx", "hyperparameter_keys",
           "asymmetry", "split_symmetric", "mixing_summary", "UpdateStatistics", "fit_power_law", "frechet_distance",
           "pca_frechet_distance", "adversarial_accuracy", "moment_errors", "inverted_fraction", "Classifier",
           "NumericalError", "has_bf16", "set_threads", "threads", "__version__",
           "AttractorModel", "AttractorLearner", "LagrangianLearner", "langevin", "orthogonality", "load_uci_digits", "uci_digit_patterns"]

_PRECISIONS = ("float32", "float64", "bf16")


def _bf16_class(name):
    if not has_bf16:
        raise ValueError("precision: 'bf16' needs oneDNN, and this nlm was built without it "
                         "(cmake -DNLM_ONEDNN=ON with libdnnl-dev installed)")
    from . import _nlm
    return getattr(_nlm, name)

_DTYPES = {"float32": _np.float32, "float64": _np.float64}


def _dtype_name(dtype, like=None):
    if dtype is None:
        return "float64" if getattr(like, "dtype", None) == _np.float64 else "float32"
    name = _np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in _DTYPES:
        raise ValueError(f"dtype: {name!r} is not one of the compiled types (choose 'float32' or 'float64')")
    return name


def _precision(precision, dtype, like=None):
    if precision is None:
        return _dtype_name(dtype, like)
    if precision not in _PRECISIONS:
        raise ValueError(f"precision: {precision!r} is not one of the compiled precisions (choose 'float32', "
                         f"'float64' or 'bf16')")
    if dtype is not None and precision != "bf16" and _dtype_name(dtype) != precision:
        raise ValueError(f"precision {precision!r} and dtype {_dtype_name(dtype)!r} disagree: give one of them")
    return precision


def Model(J, b=None, T=1.0, seed=0, dtype=None, precision=None):
    """A model on couplings J (N, N) and field b (N,) or None at temperature T: energy, force,
    sample, log_z, conditional_log_z, fixed_points. dtype: 'float32' or 'float64' (default:
    float64 when J is float64, else float32); precision='bf16': float32 with the two products
    of each step in bfloat16 (oneDNN; nlm.has_bf16 says whether it was built)."""
    p = _precision(precision, dtype, J)
    cls = _bf16_class("ModelBf16") if p == "bf16" else {"float32": Model32, "float64": Model64}[p]
    return cls(J, b, T, seed)


def Network(J, b=None, T=0.0, seed=0, dtype=None):
    """The plain recurrent network dx = (-x + J tanh(x) + b) dt + sqrt(2T) dW (no Onsager term):
    drift, run (dt = 1: the synchronous map). dtype as for Model."""
    cls = {"float32": Network32, "float64": Network64}[_dtype_name(dtype, J)]
    return cls(J, b, T, seed)


def Machine(*, dtype=None, sampler="em", precision=None, weight_decay=2e-6, replicas=4, t_max=1.5,
            swap_every=10, **hyperparameters):
    """A learning machine (tanh, Gaussian noise, weight decay). Keyword arguments: the
    hyperparameters by name (nlm.hyperparameter_keys(): neurons, time_step, temperature,
    langevin_steps, learning_rate, batch_size, persistent_chains, seed, learn_field, ...),
    weight_decay (lambda), dtype ('float32' or 'float64') and sampler, the model phase: 'em'
    (Euler-Maruyama, the paper's) or 'pt' (parallel tempering: replicas, t_max, swap_every).
    precision='bf16': float32 with bf16 products (oneDNN), model phase 'em' only."""
    if sampler not in ("em", "pt"):
        raise ValueError(f"sampler: {sampler!r} is not a model phase (choose 'em' or 'pt')")
    p = _precision(precision, dtype)
    if p == "bf16":
        if sampler != "em":
            raise ValueError("precision 'bf16' is compiled with the model phase 'em' only")
        cls = _bf16_class("MachineBf16")
    else:
        cls = {("float32", "em"): Machine32, ("float64", "em"): Machine64,
               ("float32", "pt"): MachinePt32, ("float64", "pt"): MachinePt64}[(p, sampler)]
    return cls(weight_decay, replicas, t_max, swap_every, **hyperparameters)


def AttractorModel(J, b=None, beta=1.0, seed=0, dtype=None):
    """The free-energy attractor network on couplings J (N, N) and field b (N,) or None at inverse
    temperature beta: run (sampled or deterministic synchronous updates), relax (the reference's
    attractor search), census, free_energy. dtype as for Model (default: float64 when J is)."""
    cls = {"float32": AttractorModel32, "float64": AttractorModel64}[_dtype_name(dtype, J)]
    return cls(J, b, beta, seed)


def AttractorLearner(neurons, *, beta=1.0, learning_rate=1e-3, chains=1, mode="sampled", field_in_rule=False,
                     step_rule="plain", seed=0, dtype="float64"):
    """The attractor network with its predictive rule (Spisak & Friston): learn (presentations of
    patterns as b = s xi), update, fused_steps, free_energy, model, save_checkpoint /
    load_checkpoint (resume bit for bit). dtype: 'float64' (the default, as the reference) or
    'float32'."""
    cls = {"float32": AttractorLearner32, "float64": AttractorLearner64}[_dtype_name(dtype)]
    return cls(neurons, beta, learning_rate, chains, mode, field_in_rule, step_rule, seed)


_RATES = {"hard_sigmoid": "HardSigmoid", "sigmoid": "Sigmoid", "relu": "Relu"}


def LagrangianLearner(layers, *, architecture="layered", rates=(), inputs=None, mask=None, rate="hard_sigmoid",
                      batch=1, tau=10.0, dt=1.0, beta=0.1, learning_rate=1e-4, bias_learning_rate=None, biases=True,
                      init_std=0.1, init_clip=0.3, seed=0, solve="automatic", dtype="float32"):
    """The least-action model (Senn et al., eLife 2024) with its real-time plasticity.

    layers: sizes, input layer first for 'layered' (e.g. [784, 500, 10]); 'layered_feedback' adds
    the transpose (no inputs unless inputs=True); 'all_to_all': [hidden, outputs]; 'custom':
    [outputs] with `mask` (N, N) of learning-rate factors and `inputs` the number of input neurons.
    rates: a learning-rate factor per projection. rate: 'hard_sigmoid', 'sigmoid' or 'relu'.
    solve: 'automatic' (layered where it applies), 'dense' or 'layered'. Methods: learn_supervised,
    predict, learn_trace, run_trace, step, set_nudging, backprop_gradients, save_checkpoint /
    load_checkpoint (resume bit for bit); W, b are read-only views.
    """
    if rate not in _RATES:
        raise ValueError(f"rate: {rate!r} is not one of {sorted(_RATES)}")
    name = "Lagrangian" + _RATES[rate] + {"float32": "32", "float64": "64"}[_dtype_name(dtype)]
    from . import _nlm
    cls = getattr(_nlm, name)
    if architecture == "custom":
        has_inputs, n_inputs = False, int(inputs or 0)
    else:
        has_inputs = (architecture == "layered") if inputs is None else bool(inputs)
        n_inputs = 0
    return cls(architecture, [int(v) for v in layers], [float(r) for r in rates], has_inputs, mask, n_inputs, batch,
               tau, dt, beta, learning_rate, learning_rate if bias_learning_rate is None else bias_learning_rate,
               biases, init_std, init_clip, seed, solve)
