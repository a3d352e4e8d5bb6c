"""nlm from Python: the Neural Langevin Machine of the C++ library, NumPy arrays in and out.

    import numpy as np, nlm
    machine = nlm.Machine(neurons=64, batch_size=100, persistent_chains=100, learning_rate=2e-3)
    machine.train(data, updates=500)          # data: (samples, 64) in [-1, 1]
    x = machine.sample(36, steps=2000)        # 36 chains from N(0, I); tanh(x) are the samples
    model = nlm.Model(machine.J, machine.b)   # the model alone: energy, force, sample

`Model` and `Machine` choose the compiled class by dtype (float32, the default, or float64)
and, for the machine, by the model phase's sampler ('em' or 'pt'). Arrays are copied in (any
real dtype, converted) and out. docs/python.md has the whole API.
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

from ._nlm import (Machine32, Machine64, MachinePt32, MachinePt64, Model32, Model64, Network32, Network64,
                   NumericalError, UnitLayout, parse_layout,
                   __version__, asymmetry, hyperparameter_keys, mixing_summary, read_model, split_symmetric)

__all__ = ["Model", "Network", "Machine", "UnitLayout", "parse_layout", "read_model", "hyperparameter_keys", "asymmetry", "split_symmetric",
           "mixing_summary", "NumericalError", "__version__"]

_DTYPES = {"float32": _np.float32, "float64": _np.float64}


def _dtype_name(dtype, like=None):
    if dtype is None:
        return "float64" if getattr(like, "dtype", None) == _np.float64 else "float32"
    name = _np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in _DTYPES:
        raise ValueError(f"dtype: {name!r} is not one of the compiled types (choose 'float32' or 'float64')")
    return name


def Model(J, b=None, T=1.0, seed=0, dtype=None):
    """A model on couplings J (N, N) and field b (N,) or None at temperature T: energy, force,
    sample. dtype: 'float32' or 'float64' (default: float64 when J is float64, else float32)."""
    cls = {"float32": Model32, "float64": Model64}[_dtype_name(dtype, J)]
    return cls(J, b, T, seed)


def Network(J, b=None, T=0.0, seed=0, dtype=None):
    """The plain recurrent network dx = (-x + J tanh(x) + b) dt + sqrt(2T) dW (no Onsager term):
    drift, run (dt = 1: the synchronous map). dtype as for Model."""
    cls = {"float32": Network32, "float64": Network64}[_dtype_name(dtype, J)]
    return cls(J, b, T, seed)


def Machine(*, dtype="float32", sampler="em", weight_decay=2e-6, replicas=4, t_max=1.5, swap_every=10,
            **hyperparameters):
    """A learning machine (tanh, Gaussian noise, weight decay). Keyword arguments: the
    hyperparameters by name (nlm.hyperparameter_keys(): neurons, time_step, temperature,
    langevin_steps, learning_rate, batch_size, persistent_chains, seed, learn_field, ...),
    weight_decay (lambda), dtype ('float32' or 'float64') and sampler, the model phase: 'em'
    (Euler-Maruyama, the paper's) or 'pt' (parallel tempering: replicas, t_max, swap_every)."""
    classes = {("float32", "em"): Machine32, ("float64", "em"): Machine64,
               ("float32", "pt"): MachinePt32, ("float64", "pt"): MachinePt64}
    key = (_dtype_name(dtype), sampler)
    if key not in classes:
        raise ValueError(f"sampler: {sampler!r} is not a model phase (choose 'em' or 'pt')")
    return classes[key](weight_decay, replicas, t_max, swap_every, **hyperparameters)
