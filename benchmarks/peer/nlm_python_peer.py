#!/usr/bin/env python3
"""nlm from Python in the peer comparison, and the cost of the Python layer.

Times the two operations of the peer comparison (nlm_peer.cpp, torch_peer.py) through
`import nlm`: one training update in the paper's shape (N = 784, 1000 chains, batch 1000,
n_t = 10; Machine.update) and one generation step on 36 chains (Machine.sample, blocks of 40
steps). Each Python call is interleaved, in the same process and at the same thread settings,
with the same C++ call timed inside C++ (Machine._timed_updates / _timed_sample: a loop in the
module that never returns to Python between the clocks), so the difference is what the Python
layer costs: argument conversion, the copies in and out, the GIL's release and return.

  PYTHONPATH=build/python OMP_NUM_THREADS=2 /usr/bin/python3 benchmarks/peer/nlm_python_peer.py --updates 7

Prints one JSON line: update_ms and generation_us (called from Python), update_cpp_ms and
generation_cpp_us (the C++ call), and the overheads (Python / C++ - 1). compare.py runs it as
the row "nlm-python" (--nlm-python DIR).
"""
import argparse
import json
import os
import statistics
import sys
import time


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--module-dir", help="the directory holding the nlm package (build/python)")
    p.add_argument("--threads", type=int, default=0, help="recorded only: set OMP_NUM_THREADS before starting")
    p.add_argument("--blas-threads", type=int, default=0, help="recorded only: set OPENBLAS_NUM_THREADS")
    p.add_argument("--updates", type=int, default=7, help="timed updates of each kind")
    p.add_argument("--generation-blocks", type=int, default=15)
    p.add_argument("--steps-per-block", type=int, default=40)
    a = p.parse_args()
    if a.module_dir:
        sys.path.insert(0, a.module_dir)
    import numpy as np

    import nlm

    machine = nlm.Machine(seed=2025)  # the paper's Table 1: N = 784, 1000 chains, batch 1000, n_t = 10
    hp = machine.hyperparameters
    rng = np.random.default_rng(3)
    batch = (2 * rng.random((hp["batch_size"], hp["neurons"])) - 1).astype(np.float32)

    machine.update(batch)  # warm-up, as nlm_peer
    machine._timed_updates(batch, 1)
    py_u, cpp_u = [], []
    for i in range(a.updates):
        for half in range(2):
            if (half == 0) == (i % 2 == 0):
                t0 = time.perf_counter()
                machine.update(batch)
                py_u.append(time.perf_counter() - t0)
            else:
                cpp_u.extend(machine._timed_updates(batch, 1))

    k = a.steps_per_block
    y = machine.sample(36, steps=10, seed=1)  # 36 chains, warmed up
    machine._timed_sample(y, 10, 1)
    py_g, cpp_g = [], []
    for i in range(a.generation_blocks):
        for half in range(2):
            if (half == 0) == (i % 2 == 0):
                t0 = time.perf_counter()
                y = machine.sample(y, steps=k)
                py_g.append(time.perf_counter() - t0)
            else:
                cpp_g.extend(machine._timed_sample(y, k, 1))

    u, uc = statistics.median(py_u), statistics.median(cpp_u)
    g, gc = statistics.median(py_g) / k, statistics.median(cpp_g) / k
    print(json.dumps({
        "tool": "nlm-python", "threads": int(os.environ.get("OMP_NUM_THREADS", a.threads or 0)),
        "blas_threads": int(os.environ.get("OPENBLAS_NUM_THREADS", a.blas_threads or 0)),
        "update_ms": u * 1e3, "update_cpp_ms": uc * 1e3, "update_overhead": u / uc - 1,
        "generation_us": g * 1e6, "generation_cpp_us": gc * 1e6, "generation_overhead": g / gc - 1,
        "updates": a.updates, "steps_per_block": k, "generation_blocks": a.generation_blocks,
    }))


if __name__ == "__main__":
    main()
