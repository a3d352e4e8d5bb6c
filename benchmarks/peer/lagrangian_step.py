#!/usr/bin/env python3
"""The least-action model's training step at the MNIST shape, float32: nlm against NumPy.

Rounds alternate the C++ side (build-bench/benchmarks/nlm_lagrangian_step: nlm's step with the
layered O(synapses) solve and with the dense per-sample solve) with the same step in NumPy, timed
here in this process, written as the reference code writes it (unibe-cns/nla-code,
lagrange_model_torch_batched.py, weight transport, no interneurons): W dense N x N under a mask,
the matrix of the u-dot system formed per sample over the free neurons and solved
(np.linalg.solve), then Euler for u, W, b. The inputs are clamped and move over the step, the
outputs are nudged (beta 0.1), the plasticity is on — the same arithmetic as nlm's step.

Each figure is the median over the rounds of ms per step; a presented sample costs
`presentation` (100) steps / batch of them.

  python3 benchmarks/peer/lagrangian_step.py --nlm build-bench/benchmarks/nlm_lagrangian_step \
      --layers 784-500-10 --batch 32 --rounds 3
"""
import argparse
import json
import subprocess
import time


def numpy_step_ms(layers, batch, steps, seed=0):
    import numpy as np

    f32 = np.float32
    rng = np.random.default_rng(seed)
    n, ni, no = sum(layers), layers[0], layers[-1]
    o0, nf = n - no, n - ni
    tau, dt, beta, eta = f32(10.0), f32(1.0), f32(0.1), f32(1e-3)
    mask = np.zeros((n, n), dtype=f32)
    off = np.cumsum([0] + layers)
    for l in range(len(layers) - 1):
        mask[off[l + 1]:off[l + 2], off[l]:off[l + 1]] = 1.0
    W = (np.clip(rng.normal(0, 0.1, (n, n)), -0.3, 0.3) * mask).astype(f32)
    b = np.clip(rng.normal(0, 0.1, n), -0.3, 0.3).astype(f32)
    b[:ni] = 0
    bmask = np.ones(n, dtype=f32)
    bmask[:ni] = 0
    u = np.zeros((batch, n), dtype=f32)
    x = rng.random((batch, ni), dtype=f32)
    t = rng.random((batch, no), dtype=f32)
    x_prev, t_prev = x.copy(), t.copy()
    eye = np.eye(nf, dtype=f32)
    out_rows = np.arange(o0 - ni, nf)

    def step():
        nonlocal W, b, u, x, x_prev
        x_prev, x = x, np.minimum(1.0, x + f32(1e-3))
        u[:, :ni] = x_prev
        r = np.clip(u, 0.0, 1.0)
        d = ((u >= 0) & (u <= 1)).astype(f32)
        m = u - (r @ W.T + b)
        m[:, :ni] = 0
        wdot = eta * (m.T @ r / f32(batch)) * mask
        bdot = eta * m.mean(axis=0) * bmask
        p = np.zeros_like(u)
        p[:, :ni] = d[:, :ni] * (x - x_prev) / dt
        c = tau * (p @ W.T + r @ wdot.T + bdot) - m
        c[:, :ni] = 0
        y = c - d * (c @ W) + tau * d * (m @ wdot)
        y[:, o0:] += beta * (t_prev - u[:, o0:] + tau * (t - t_prev) / dt)
        A = eye[None] - W[None, ni:, ni:] * d[:, None, ni:]
        H = np.transpose(A, (0, 2, 1)) @ A
        H[:, out_rows, out_rows] += beta
        z = np.linalg.solve(H, y[:, ni:, None])[..., 0]
        u[:, ni:] += dt * z / tau
        u[:, :ni] = x
        W = W + dt * wdot
        b = b + dt * bdot

    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - t0) * 1e3 / steps


def median(v):
    v = sorted(v)
    k = len(v)
    return v[k // 2] if k % 2 else 0.5 * (v[k // 2 - 1] + v[k // 2])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nlm", required=True, help="the nlm_lagrangian_step binary")
    ap.add_argument("--layers", default="784-500-10")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=20, help="timed steps of nlm's layered step")
    ap.add_argument("--dense-steps", type=int, default=3, help="timed steps of the dense steps (nlm and NumPy)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--presentation", type=int, default=100)
    a = ap.parse_args()
    layers = [int(v) for v in a.layers.split("-")]
    rows = {"layered": [], "dense": [], "numpy": []}
    for _ in range(a.rounds):
        out = subprocess.run([a.nlm, "--layers", a.layers, "--batch", str(a.batch), "--steps", str(a.steps),
                              "--dense-steps", str(a.dense_steps), "--repeats", "1"],
                             check=True, capture_output=True, text=True).stdout
        j = json.loads(out)
        rows["layered"].append(j["layered_ms_per_step"])
        rows["dense"].append(j["dense_ms_per_step"])
        rows["numpy"].append(numpy_step_ms(layers, a.batch, a.dense_steps))
    per_sample = a.presentation / a.batch
    lay, den, npy = median(rows["layered"]), median(rows["dense"]), median(rows["numpy"])
    print(f"least-action step, {a.layers}, batch {a.batch}, float32; median of {a.rounds} rounds")
    print("| step | ms per step | ms per presented sample | vs nlm layered |")
    print("|---|---:|---:|---:|")
    for name, v in (("nlm, layered solve", lay), ("nlm, dense solve", den), ("NumPy, dense solve (the reference's)", npy)):
        print(f"| {name} | {v:.3f} | {v * per_sample:.2f} | {v / lay:.1f} |")


if __name__ == "__main__":
    main()
