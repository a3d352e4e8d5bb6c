#!/usr/bin/env python3
"""The free-energy attractor network's learning update, one chain, float32: nlm against NumPy.

For each N, rounds alternate the C++ side (build-bench/benchmarks/nlm_fep_scaling: nlm's
update through the learning seam, its fused update, and one read+write pass over N^2 floats,
the memory-bandwidth bound) with the same update in NumPy, timed here in this process:

    h = J x;  x' ~ CB(beta (b + h)) by the inverse CDF;  e = L(h) - x'
    J -= eta e x'^T  (in blocks of rows, so no N x N temporary);  J_ii = 0

(the reference's vectorised rule: pni-lab/fep-attractor-network's network_jax.py does the same
per step). Each figure is the median over the rounds of ms per update. The reference's own JAX
figures (10 updates on the CPU of an M3 Max laptop, from its notebook) are printed beside, as
published.

  python3 benchmarks/peer/fep_scaling.py --nlm build-bench/benchmarks/nlm_fep_scaling \
      --sizes 1000,5000,10000,20000 --rounds 3
"""
import argparse
import json
import math
import subprocess
import sys
import time

JAX_PUBLISHED_S_PER_10 = {1000: 0.007, 5000: 0.26, 10000: 0.39, 20000: 1.49, 50000: 59.8}


def numpy_update_ms(n, updates, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    f32 = np.float32
    beta, eta, block = 1.0, f32(1e-3), 256
    b = (2.0 * rng.standard_normal(n)).astype(f32)
    x = np.zeros(n, dtype=f32)
    J = np.zeros((n, n), dtype=f32)

    def langevin(t):
        t = t.astype(np.float64)
        small = np.abs(t) < 1e-3
        safe = np.where(small, 1.0, t)
        return np.where(small, t / 3.0, 1.0 / np.tanh(safe) - 1.0 / safe)

    def sample(theta, u):
        theta = np.clip(theta.astype(np.float64), -500.0, 500.0)
        small = np.abs(theta) < 1e-8
        t = np.where(small, 1.0, theta)
        # log(e^-t + u (e^t - e^-t)) / t, written as t - log(...) forms that do not overflow
        a = np.abs(t)
        v = np.where(t > 0, u, 1.0 - u)
        s = (a + np.log(v + (1.0 - v) * np.exp(-2.0 * a))) / a  # in [-1, 1] for the positive side
        s = np.where(t > 0, s, -s)
        return np.where(small, 2.0 * u - 1.0, s)

    def update():
        nonlocal x
        h = J @ x
        x_new = sample(beta * (b + h), rng.random(n)).astype(f32)
        e = (eta * (langevin(h) - x_new)).astype(f32)
        for r0 in range(0, n, block):
            J[r0:r0 + block] -= np.outer(e[r0:r0 + block], x_new)
        np.fill_diagonal(J, 0.0)
        x = x_new

    update()
    update()
    t0 = time.perf_counter()
    for _ in range(updates):
        update()
    return (time.perf_counter() - t0) * 1e3 / updates


def median(v):
    v = sorted(v)
    k = len(v)
    return v[k // 2] if k % 2 else 0.5 * (v[k // 2 - 1] + v[k // 2])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--nlm", required=True, help="the nlm_fep_scaling binary")
    p.add_argument("--sizes", default="1000,5000,10000,20000")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--updates", type=int, default=0, help="updates per timing (0: by size)")
    a = p.parse_args()
    rows = []
    for n in [int(s) for s in a.sizes.split(",")]:
        updates = a.updates or max(3, min(100, int(2e9 / (n * n))))
        nlm, numpy = [], []
        for r in range(a.rounds):
            out = subprocess.run([a.nlm, "--n", str(n), "--updates", str(updates), "--repeats", "1"],
                                 check=True, capture_output=True, text=True).stdout
            nlm.append(json.loads(out))
            numpy.append(numpy_update_ms(n, updates, seed=r))
            print(f"N {n} round {r + 1}: nlm fused {nlm[-1]['fused_ms']:.3f} ms, seam {nlm[-1]['seam_ms']}, "
                  f"pass {nlm[-1]['pass_ms']:.3f} ms; NumPy {numpy[-1]:.3f} ms", file=sys.stderr, flush=True)
        seam = [r["seam_ms"] for r in nlm if r["seam_ms"] is not None]
        rows.append({"n": n, "updates": updates, "fused": median([r["fused_ms"] for r in nlm]),
                     "seam": median(seam) if seam else math.nan, "pass": median([r["pass_ms"] for r in nlm]),
                     "numpy": median(numpy), "threads": nlm[0]["threads"],
                     "jax": JAX_PUBLISHED_S_PER_10.get(n, math.nan) * 100.0})
    print("| N | nlm fused (ms/update) | nlm through the seam | NumPy | one read+write pass over J | fused / pass | "
          "NumPy / fused | the reference's JAX, published (M3 Max) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        seam = f"{r['seam']:.2f}" if not math.isnan(r["seam"]) else "(memory)"
        jax = f"{r['jax']:.1f}" if not math.isnan(r["jax"]) else "-"
        print(f"| {r['n']} | {r['fused']:.3f} | {seam} | {r['numpy']:.3f} | {r['pass']:.3f} | "
              f"{r['fused'] / r['pass']:.2f} | {r['numpy'] / r['fused']:.1f} | {jax} |")
    print(f"({rows[0]['threads']} threads; medians over {a.rounds} rounds, each of the updates shown by size)")


if __name__ == "__main__":
    main()
