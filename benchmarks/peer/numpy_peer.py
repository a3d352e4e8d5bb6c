#!/usr/bin/env python3
"""NumPy peer: the upstream training update and generation step, for timing (float32).

Written here with the mathematics and shapes of the upstream scripts (1training.py,
2generate.py of the paper's repository), in the paper's column convention:

  * chains held as X of shape (N, N_model, n_t + 1), one state per column of each time slice;
    step j writes slice j + 1,
        X[:, :, j+1] = (1 − dt) x + dt h − dt φ'(x) ⊙ Jᵀ(h − x) + √(2 T dt) ξ,
    with x = X[:, :, j], h = J φ(x); then X[:, :, 0] = X[:, :, −1] carries the chains over;
  * data  = (x_d − J φ(x_d)) φ(x_d)ᵀ / (T b_size)  on a mini-batch x_d of shape (N, b_size);
  * model = the same on the final slice X[:, :, −1] over N_model chains;
  * J = (1 − λ) J − k (model − data);
  * generation (Algorithm 2): Y of shape (N, 36), one Euler–Maruyama step.

That is 2 n_t + 4 = 24 products of 784×784×1000 per update, as in nlm.

The same code as torch_peer.py with numpy arrays (float32, C order, so X[:, :, j] is a strided
view exactly as the torch tensor slice is); the noise comes from numpy's default Generator.

  /usr/bin/python3 benchmarks/peer/numpy_peer.py             # tries 1 and 2 threads, prints the best
  /usr/bin/python3 benchmarks/peer/numpy_peer.py --threads 2 # one setting, one JSON line

Thread counts are set before numpy loads (a child process per setting, OPENBLAS_NUM_THREADS:
Debian's numpy calls the system BLAS, OpenBLAS); threadpoolctl is not needed.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

# The paper's Table 1.
N, G, DT, T, N_T = 784, 2.0, 0.01, 1.0, 10
K, LAMBDA1, B_SIZE, N_MODEL, N_GEN = 5e-4, 2e-6, 1000, 1000, 36
# numpy's elementwise work is single-threaded: only the OpenBLAS thread count varies.
DEFAULT_SETTINGS = "1,2"


def measure(threads, blas_threads, updates, generation_blocks, steps_per_block):
    import numpy as np

    rng = np.random.default_rng(0)
    f32 = np.float32
    sigma = f32(math.sqrt(2.0 * T * DT))
    dt, one_minus_dt = f32(DT), f32(1 - DT)

    def train_update(J, X, x_d):
        for j in range(N_T):
            x = X[:, :, j]
            phi = np.tanh(x)
            h = J @ phi
            X[:, :, j + 1] = (one_minus_dt * x + dt * h - dt * (1 - phi ** 2) * (J.T @ (h - x))
                              + sigma * rng.standard_normal((N, N_MODEL), dtype=f32))
        X[:, :, 0] = X[:, :, -1]
        x_m = X[:, :, -1]
        phi_m = np.tanh(x_m)
        model = (x_m - J @ phi_m) @ phi_m.T / f32(T * N_MODEL)
        phi_d = np.tanh(x_d)
        data = (x_d - J @ phi_d) @ phi_d.T / f32(T * B_SIZE)
        return f32(1 - LAMBDA1) * J - f32(K) * (model - data)

    def generation_step(J, Y):
        phi = np.tanh(Y)
        h = J @ phi
        return (one_minus_dt * Y + dt * h - dt * (1 - phi ** 2) * (J.T @ (h - Y))
                + sigma * rng.standard_normal((N, N_GEN), dtype=f32))

    J = rng.standard_normal((N, N), dtype=f32) * f32(G / math.sqrt(N))
    np.fill_diagonal(J, 0)
    X = np.zeros((N, N_MODEL, N_T + 1), dtype=f32)
    X[:, :, 0] = rng.standard_normal((N, N_MODEL), dtype=f32)
    x_d = rng.random((N, B_SIZE), dtype=f32) * 2 - 1  # images mapped to [−1, 1], one per column

    J = train_update(J, X, x_d)  # warm-up
    update_s = []
    for _ in range(updates):
        t0 = time.perf_counter()
        J = train_update(J, X, x_d)
        update_s.append(time.perf_counter() - t0)
    assert J.dtype == f32

    Y = rng.standard_normal((N, N_GEN), dtype=f32)
    for _ in range(10):
        Y = generation_step(J, Y)
    block_s = []
    for _ in range(generation_blocks):
        t0 = time.perf_counter()
        for _ in range(steps_per_block):
            Y = generation_step(J, Y)
        block_s.append((time.perf_counter() - t0) / steps_per_block)
    assert Y.dtype == f32

    return {"tool": "numpy", "version": np.__version__, "threads": threads, "blas_threads": blas_threads,
            "update_ms": statistics.median(update_s) * 1e3,
            "generation_us": statistics.median(block_s) * 1e6,
            "check": float(np.abs(J).mean()) + float(np.abs(Y).mean())}


def child_env(threads, blas_threads):
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    env["OPENBLAS_NUM_THREADS"] = str(blas_threads)
    env["MKL_NUM_THREADS"] = str(blas_threads)
    return env


def best_of(results):
    """The fastest setting for each of the two operations."""
    upd = min(results, key=lambda r: r["update_ms"])
    gen = min(results, key=lambda r: r["generation_us"])
    def name(r):
        return f"{r['threads']}x{r['blas_threads']}"
    return {"update_ms": upd["update_ms"], "update_threads": name(upd),
            "generation_us": gen["generation_us"], "generation_threads": name(gen),
            "all": results}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, help="run one setting in this process (the caller sets "
                   "OMP_NUM_THREADS and OPENBLAS_NUM_THREADS before it starts)")
    p.add_argument("--blas-threads", type=int,
                   help="OpenBLAS threads of that setting, for the record (default: --threads)")
    p.add_argument("--try-threads", default=DEFAULT_SETTINGS,
                   help="settings tried without --threads: THREADS or THREADSxBLAS_THREADS")
    p.add_argument("--updates", type=int, default=5)
    p.add_argument("--generation-blocks", type=int, default=15)
    p.add_argument("--steps-per-block", type=int, default=40)
    a = p.parse_args()
    if a.threads:
        print(json.dumps(measure(a.threads, a.blas_threads or a.threads, a.updates,
                                 a.generation_blocks, a.steps_per_block)))
        return
    results = []
    for setting in a.try_threads.split(","):
        t, _, b = setting.partition("x")
        t, b = int(t), int(b or t)
        out = subprocess.run([sys.executable, __file__, "--threads", str(t), "--blas-threads", str(b),
                              "--updates", str(a.updates),
                              "--generation-blocks", str(a.generation_blocks),
                              "--steps-per-block", str(a.steps_per_block)],
                             env=child_env(t, b), check=True, capture_output=True, text=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = best_of(results)
    for r in results:
        print(f"numpy  threads={r['threads']}x{r['blas_threads']}: {r['update_ms']:9.1f} ms/update  "
              f"{r['generation_us']:9.1f} us/generation step (36 chains)")
    print(f"numpy  best: {best['update_ms']:.1f} ms/update ({best['update_threads']}), "
          f"{best['generation_us']:.1f} us/step ({best['generation_threads']})")
    print(json.dumps(best))


if __name__ == "__main__":
    main()
