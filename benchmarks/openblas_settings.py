#!/usr/bin/env python3
"""OpenBLAS settings for nlm: kernel family (OPENBLAS_CORETYPE), thread count and how long
idle worker threads spin (OPENBLAS_THREAD_TIMEOUT), measured with the nlm_peer driver.

Each setting runs in its own process; every round runs every setting once, in turn, and each
figure is the median over rounds. Besides the times, the table gives the CPU time the process
used per second of wall time (1.0 = one core busy): threads that spin between calls show up
there.

  /usr/bin/python3 benchmarks/openblas_settings.py --nlm build-bench/benchmarks/nlm_peer
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

# (label, environment): OPENBLAS_CORETYPE is unset for the default (auto-detected) kernels.
# nlm splits its elementwise work over OMP_NUM_THREADS OpenMP threads, set equal to the
# OpenBLAS thread count; "OpenMP OpenBLAS" loads Debian's OpenMP build of OpenBLAS
# (libopenblas0-openmp), whose products then run on the same OpenMP pool.
OPENMP_OPENBLAS = {"LD_LIBRARY_PATH": "/usr/lib/x86_64-linux-gnu/openblas-openmp"}
ONE = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
TWO = {"OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}
SETTINGS = [
    ("default core, 1 thread", ONE),
    ("SkylakeX, 1 thread", {**ONE, "OPENBLAS_CORETYPE": "SkylakeX"}),
    ("Cooperlake, 1 thread", {**ONE, "OPENBLAS_CORETYPE": "Cooperlake"}),
    ("Haswell, 1 thread", {**ONE, "OPENBLAS_CORETYPE": "Haswell"}),
    ("Zen, 1 thread", {**ONE, "OPENBLAS_CORETYPE": "Zen"}),
    ("default core, 2 threads", TWO),
    ("SkylakeX, 2 threads", {**TWO, "OPENBLAS_CORETYPE": "SkylakeX"}),
    ("Haswell, 2 threads", {**TWO, "OPENBLAS_CORETYPE": "Haswell"}),
    ("SkylakeX, 2 threads, OpenMP OpenBLAS", {**TWO, **OPENMP_OPENBLAS, "OPENBLAS_CORETYPE": "SkylakeX"}),
    ("SkylakeX, 2 threads, OMP_WAIT_POLICY=passive",
     {**TWO, "OPENBLAS_CORETYPE": "SkylakeX", "OMP_WAIT_POLICY": "passive"}),
    ("SkylakeX, 2 threads, OPENBLAS_THREAD_TIMEOUT=4 (no spinning)",
     {**TWO, "OPENBLAS_CORETYPE": "SkylakeX", "OPENBLAS_THREAD_TIMEOUT": "4"}),
]


def run(nlm, env_extra, updates):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_THREAD_TIMEOUT", "OPENBLAS_NUM_THREADS",
                        "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "LD_LIBRARY_PATH")}
    env.update(env_extra)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run([nlm, "--updates", str(updates)], env=env, check=True,
                         capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["cpu_per_wall"] = cpu / wall
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nlm", required=True, help="path of the nlm_peer driver")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--updates", type=int, default=5)
    a = p.parse_args()

    runs = {label: [] for label, _ in SETTINGS}
    for r in range(a.rounds):
        for label, env in SETTINGS:
            res = run(a.nlm, env, a.updates)
            runs[label].append(res)
            print(f"round {r + 1}/{a.rounds} {label}: core {res['core']}, "
                  f"{res['update_ms']:.1f} ms/update", file=sys.stderr, flush=True)

    def med(label, key):
        return statistics.median(x[key] for x in runs[label])

    print(f"nlm_peer, {a.rounds} rounds, medians. update: N=784, 1000 chains, batch 1000, n_t=10; "
          "generation: one step on 36 chains")
    print()
    print("| setting | core reported | update (ms) | 24 bare sgemm (ms) | update / bare | "
          "generation step (µs) | 2 bare sgemm (µs) | CPU s per wall s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for label, _ in SETTINGS:
        print(f"| {label} | {runs[label][0]['core']} | {med(label, 'update_ms'):.1f} | "
              f"{med(label, 'update_bare_ms'):.1f} | "
              f"{med(label, 'update_ms') / med(label, 'update_bare_ms'):.3f} | "
              f"{med(label, 'generation_us'):.0f} | {med(label, 'generation_bare_us'):.0f} | "
              f"{med(label, 'cpu_per_wall'):.2f} |")


if __name__ == "__main__":
    main()
