#!/usr/bin/env python3
"""PyTorch peer (CPU): the upstream training update and generation step, for timing.

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

  /usr/bin/python3 benchmarks/peer/torch_peer.py   # tries the thread settings, prints the best
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=2 /usr/bin/python3 benchmarks/peer/torch_peer.py \
      --threads 1 --blas-threads 2                 # one setting, one JSON line

Thread counts are set before the libraries load (a child process per setting). Debian's torch
(1.13, BLAS_INFO=generic) runs its elementwise operations on its OpenMP pool
(torch.set_num_threads, OMP_NUM_THREADS) and its matrix products in the system BLAS, OpenBLAS,
whose own thread pool only OPENBLAS_NUM_THREADS controls: a setting is "TxB", T torch threads
and B OpenBLAS threads.

--dtype bf16 holds J, the chains and the batch as torch.bfloat16 tensors (Debian's torch runs
bf16 products through oneDNN); --dtype autocast keeps them float32 and runs the products under
torch.autocast("cpu", dtype=torch.bfloat16). The peer comparison (compare.py --bf16) tries both.
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
# torch threads x OpenBLAS threads: the two pools are separate (see above), so mixed settings
# are tried too; 1x2 (elementwise on one thread, products on two) is usually the fastest.
DEFAULT_SETTINGS = "1x1,2x2,1x2,2x1"


def measure(threads, blas_threads, updates, generation_blocks, steps_per_block, dtype="fp32"):
    import contextlib
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    sigma = math.sqrt(2.0 * T * DT)

    def train_update(J, X, x_d):
        for j in range(N_T):
            x = X[:, :, j]
            phi = torch.tanh(x)
            h = J @ phi
            X[:, :, j + 1] = ((1 - DT) * x + DT * h - DT * (1 - phi ** 2) * (J.T @ (h - x))
                              + sigma * torch.randn(N, N_MODEL, dtype=tensor_type))
        X[:, :, 0] = X[:, :, -1]
        x_m = X[:, :, -1]
        phi_m = torch.tanh(x_m)
        model = (x_m - J @ phi_m) @ phi_m.T / (T * N_MODEL)
        phi_d = torch.tanh(x_d)
        data = (x_d - J @ phi_d) @ phi_d.T / (T * B_SIZE)
        return (1 - LAMBDA1) * J - K * (model - data)

    def generation_step(J, Y):
        phi = torch.tanh(Y)
        h = J @ phi
        return ((1 - DT) * Y + DT * h - DT * (1 - phi ** 2) * (J.T @ (h - Y))
                + sigma * torch.randn(N, N_GEN, dtype=tensor_type))

    tensor_type = torch.bfloat16 if dtype == "bf16" else torch.float32
    autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if dtype == "autocast"
                else contextlib.nullcontext())
    with torch.no_grad(), autocast:
        J = (torch.randn(N, N) * (G / math.sqrt(N))).to(tensor_type)
        J.fill_diagonal_(0)
        X = torch.zeros(N, N_MODEL, N_T + 1, dtype=tensor_type)
        X[:, :, 0] = torch.randn(N, N_MODEL)
        x_d = (torch.rand(N, B_SIZE) * 2 - 1).to(tensor_type)  # images in [−1, 1], one per column

        J = train_update(J, X, x_d)  # warm-up
        update_s = []
        for _ in range(updates):
            t0 = time.perf_counter()
            J = train_update(J, X, x_d)
            update_s.append(time.perf_counter() - t0)

        Y = torch.randn(N, N_GEN, dtype=tensor_type)
        for _ in range(10):
            Y = generation_step(J, Y)
        block_s = []
        for _ in range(generation_blocks):
            t0 = time.perf_counter()
            for _ in range(steps_per_block):
                Y = generation_step(J, Y)
            block_s.append((time.perf_counter() - t0) / steps_per_block)

    return {"tool": "torch" if dtype == "fp32" else "torch-" + dtype, "version": torch.__version__, "threads": threads, "blas_threads": blas_threads,
            "torch_threads": torch.get_num_threads(),
            "update_ms": statistics.median(update_s) * 1e3,
            "generation_us": statistics.median(block_s) * 1e6,
            "check": float(J.abs().mean()) + float(Y.abs().mean())}


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
    p.add_argument("--dtype", choices=["fp32", "bf16", "autocast"], default="fp32",
                   help="float32, bfloat16 tensors, or float32 tensors with bf16 autocast")
    a = p.parse_args()
    if a.threads:
        print(json.dumps(measure(a.threads, a.blas_threads or a.threads, a.updates,
                                 a.generation_blocks, a.steps_per_block, a.dtype)))
        return
    results = []
    for setting in a.try_threads.split(","):
        t, _, b = setting.partition("x")
        t, b = int(t), int(b or t)
        out = subprocess.run([sys.executable, __file__, "--threads", str(t), "--blas-threads", str(b),
                              "--updates", str(a.updates),
                              "--generation-blocks", str(a.generation_blocks),
                              "--steps-per-block", str(a.steps_per_block), "--dtype", a.dtype],
                             env=child_env(t, b), check=True, capture_output=True, text=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = best_of(results)
    for r in results:
        print(f"torch  threads={r['threads']}x{r['blas_threads']}: {r['update_ms']:9.1f} ms/update  "
              f"{r['generation_us']:9.1f} us/generation step (36 chains)")
    print(f"torch  best: {best['update_ms']:.1f} ms/update ({best['update_threads']}), "
          f"{best['generation_us']:.1f} us/step ({best['generation_threads']})")
    print(json.dumps(best))


if __name__ == "__main__":
    main()
