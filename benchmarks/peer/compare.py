#!/usr/bin/env python3
"""Runs nlm, the PyTorch peer and the NumPy peer in one run and prints the comparison table.

A setting "T" or "TxB" runs a tool in its own process with OMP_NUM_THREADS=T and
OPENBLAS_NUM_THREADS=B (B = T when omitted); torch also calls torch.set_num_threads(T), nlm
openblas_set_num_threads(B). Suffixes change the process's environment:
  "@omp"      loads Debian's OpenMP build of OpenBLAS (libopenblas0-openmp, through
              LD_LIBRARY_PATH) instead of the default pthread build: its products then run on
              the same OpenMP (GOMP) thread pool as nlm's and torch's elementwise work;
  "@passive"  OMP_WAIT_POLICY=passive: OpenMP threads sleep instead of spinning between
              parallel regions.
nlm splits its elementwise passes over OpenMP threads (T) and its products over OpenBLAS's (B);
numpy's elementwise work is single-threaded; Debian's torch has two separate pools (OpenMP for
elementwise work, OpenBLAS for products). With the pthread build both pools of a 2x2 setting
spin on the same 2 cores, hence the variants. Every round runs every setting once, in
turn, so the machine's background load is shared among the tools; each figure is the median
over rounds, and each tool is reported at its fastest setting (said in the table). Any
OPENBLAS_CORETYPE in the environment applies to all three tools.

With --nlm-python DIR, nlm_python_peer.py also runs nlm through `import nlm` at nlm's settings:
the row nlm-python, and the Python layer's cost measured inside its process (each Python call
interleaved with the same call timed in C++).

Usually started by run_peer.sh, which builds the nlm driver (and the Python module) first.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# The targets (#4).
UPDATE_BOUND = 1.10      # training update ≤ 1.10 × its 24 bare sgemm products
UPDATE_VS_TORCH = 3.0    # ≥ 3 × faster than PyTorch per training update
GENERATION_VS_TORCH = 2.5  # generation step on 36 chains ≥ 2.5 × faster than PyTorch
# bf16 (#17, with --bf16): nlm's bf16 update against the float32 sgemm bound and both peers.
BF16_UPDATE_BOUND = 0.55        # bf16 update ≤ 0.55 × the fp32 sgemm bound of the same run
BF16_VS_TORCH_FP32 = 3.5        # ≥ 3.5 × faster than PyTorch float32 per update
BF16_VS_TORCH_BF16 = 2.0        # ≥ 2 × faster than PyTorch bf16 (tensors or autocast, the faster)
BF16_GENERATION_VS_TORCH = 1.8  # generation step on 36 chains ≥ 1.8 × faster than PyTorch float32
PYTHON_OVERHEAD = 0.02          # import nlm (#33): a Python-called update ≤ 2 % over the C++ call


OPENMP_OPENBLAS = "/usr/lib/x86_64-linux-gnu/openblas-openmp"


def parse_setting(setting):
    counts, *_ = setting.split("@")
    t, _, b = counts.partition("x")
    return int(t), int(b or t)


def variants(setting):
    return set(setting.split("@")[1:])


def run(cmd, setting):
    threads, blas = parse_setting(setting)
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = str(threads)
    env["OPENBLAS_NUM_THREADS"] = str(blas)
    env["MKL_NUM_THREADS"] = str(blas)
    v = variants(setting)
    unknown = v - {"omp", "passive"}
    if unknown:
        sys.exit(f"compare: unknown setting suffix(es) {sorted(unknown)} in '{setting}'")
    if "omp" in v:
        if not os.path.exists(os.path.join(OPENMP_OPENBLAS, "libopenblas.so.0")):
            sys.exit(f"compare: setting '{setting}' needs {OPENMP_OPENBLAS} "
                     "(apt-get install libopenblas0-openmp, or scripts/install_deps.sh --peer)")
        env["LD_LIBRARY_PATH"] = OPENMP_OPENBLAS + ":" + env.get("LD_LIBRARY_PATH", "")
    if "passive" in v:
        env["OMP_WAIT_POLICY"] = "passive"
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nlm", required=True, help="path of the nlm_peer driver")
    p.add_argument("--nlm-old", help="another nlm_peer driver (say, built before a refactor), run "
                   "at nlm's settings in the same rounds and compared with --nlm")
    p.add_argument("--nlm-python", metavar="DIR", help="also nlm from Python (the nlm package in DIR, e.g. "
                   "build-bench/python) at nlm's settings: the row nlm-python and the Python layer's cost")
    p.add_argument("--python", default=sys.executable, help="interpreter with torch and numpy")
    p.add_argument("--nlm-settings", default="1,2,1x2,2@passive,2@omp",
                   help="OpenMP x OpenBLAS threads (and variants) tried for nlm")
    p.add_argument("--torch-settings", default="1x1,2x2,1x2,2x1,1x2@omp,2@omp",
                   help="torch threads x OpenBLAS threads (and variants) for the PyTorch peer")
    p.add_argument("--numpy-settings", default="1,2,2@omp", help="OpenBLAS threads for numpy")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--updates", type=int, default=5, help="timed updates per run")
    p.add_argument("--no-numpy", action="store_true")
    p.add_argument("--bf16", action="store_true",
                   help="also nlm with bf16 products (an nlm_peer built with NLM_ONEDNN) and PyTorch in "
                   "bfloat16 (tensors and autocast), with the bf16 targets")
    p.add_argument("--bf16-settings", default="2,2@omp", help="settings tried for nlm-bf16")
    p.add_argument("--torch-bf16-settings", default="2x2,1x2,2@omp",
                   help="settings tried for PyTorch in bf16 (both kinds); 'none' leaves PyTorch's bf16 "
                   "out (its oneDNN matmul fails without bf16 instructions, e.g. DNNL_MAX_CPU_ISA=AVX2)")
    p.add_argument("--json", help="also write every run's result to this file")
    a = p.parse_args()

    def peer(script, *extra):
        def cmd(setting):
            t, b = parse_setting(setting)
            return [a.python, os.path.join(HERE, script), "--threads", str(t), "--blas-threads",
                    str(b), "--updates", str(a.updates), *extra]
        return cmd

    tools = {
        "nlm": lambda s: [a.nlm, "--threads", str(parse_setting(s)[1]), "--updates", str(a.updates)],
        "torch": peer("torch_peer.py"),
    }
    settings = {"nlm": a.nlm_settings.split(","), "torch": a.torch_settings.split(",")}
    if a.nlm_old:
        tools["nlm-old"] = lambda s: [a.nlm_old, "--threads", str(parse_setting(s)[1]), "--updates",
                                      str(a.updates)]
        settings["nlm-old"] = settings["nlm"]
    if a.nlm_python:
        tools["nlm-python"] = peer("nlm_python_peer.py", "--module-dir", a.nlm_python)
        settings["nlm-python"] = settings["nlm"]
    if not a.no_numpy:
        tools["numpy"] = peer("numpy_peer.py")
        settings["numpy"] = a.numpy_settings.split(",")
    if a.bf16:
        tools["nlm-bf16"] = lambda s: [a.nlm, "--threads", str(parse_setting(s)[1]), "--updates",
                                       str(a.updates), "--precision", "bf16"]
        settings["nlm-bf16"] = a.bf16_settings.split(",")
        for kind in ("bf16", "autocast") if a.torch_bf16_settings != "none" else ():
            tools["torch-" + kind] = peer("torch_peer.py", "--dtype", kind)
            settings["torch-" + kind] = a.torch_bf16_settings.split(",")

    runs = {(tool, s): [] for tool in tools for s in settings[tool]}
    for r in range(a.rounds):
        for tool, cmd in tools.items():
            for t in settings[tool]:
                res = run(cmd(t), t)
                runs[(tool, t)].append(res)
                print(f"round {r + 1}/{a.rounds} {tool:14s} threads={t}: "
                      f"{res['update_ms']:8.1f} ms/update {res['generation_us']:8.1f} us/step",
                      file=sys.stderr, flush=True)

    def med(tool, t, key):
        return statistics.median(x[key] for x in runs[(tool, t)])

    def best(tool, key):
        t = min(settings[tool], key=lambda t: med(tool, t, key))
        return med(tool, t, key), t

    def label(tool, t):
        threads, blas = parse_setting(t)
        v = variants(t)
        suffix = (", OpenMP OpenBLAS" if "omp" in v else "") + (", passive wait" if "passive" in v else "")
        if tool.startswith("torch"):
            return f"{threads} torch + {blas} OpenBLAS thread(s){suffix}"
        if tool.startswith("nlm"):
            return f"{threads} OpenMP + {blas} OpenBLAS thread(s){suffix}"
        return f"{blas} OpenBLAS thread(s){suffix}"

    core = runs[("nlm", settings["nlm"][0])][0]["core"]
    coretype = os.environ.get("OPENBLAS_CORETYPE", "(default)")
    isa = f"; DNNL_MAX_CPU_ISA={os.environ['DNNL_MAX_CPU_ISA']}" if "DNNL_MAX_CPU_ISA" in os.environ else ""
    print(f"OpenBLAS core: {core} (OPENBLAS_CORETYPE={coretype}){isa}; {a.rounds} rounds, "
          f"median per setting; N=784, 1000 chains, batch 1000, n_t=10; generation 36 chains")
    print()
    print("| setting | update (ms) | generation step, 36 chains (µs) |")
    print("|---|---:|---:|")
    for tool in tools:
        for t in settings[tool]:
            print(f"| {tool}, {label(tool, t)} | {med(tool, t, 'update_ms'):.1f} | "
                  f"{med(tool, t, 'generation_us'):.1f} |")
    for t in settings["nlm"]:
        print(f"| bare sgemm (24 / 2 products), {label('nlm', t)} | "
              f"{med('nlm', t, 'update_bare_ms'):.1f} | {med('nlm', t, 'generation_bare_us'):.1f} |")
    print()

    nlm_u, nlm_ut = best("nlm", "update_ms")
    nlm_g, nlm_gt = best("nlm", "generation_us")
    bare_u = med("nlm", nlm_ut, "update_bare_ms")
    bare_g = med("nlm", nlm_gt, "generation_bare_us")
    print("| | update (ms) | fastest setting | generation (µs) | fastest setting |")
    print("|---|---:|---|---:|---|")
    print(f"| nlm | {nlm_u:.1f} | {label('nlm', nlm_ut)} | {nlm_g:.1f} | {label('nlm', nlm_gt)} |")
    peers = {}
    for tool in tools:
        if tool.startswith("nlm"):
            continue
        u, ut = best(tool, "update_ms")
        g, gt = best(tool, "generation_us")
        peers[tool] = (u, g)
        print(f"| {tool} | {u:.1f} | {label(tool, ut)} | {g:.1f} | {label(tool, gt)} |")
    if a.bf16:
        b16_u, b16_ut = best("nlm-bf16", "update_ms")
        b16_g, b16_gt = best("nlm-bf16", "generation_us")
        print(f"| nlm-bf16 | {b16_u:.1f} | {label('nlm', b16_ut)} | {b16_g:.1f} | {label('nlm', b16_gt)} |")
    if a.nlm_python:
        py_u, py_ut = best("nlm-python", "update_ms")
        py_g, py_gt = best("nlm-python", "generation_us")
        print(f"| nlm-python | {py_u:.1f} | {label('nlm', py_ut)} | {py_g:.1f} | {label('nlm', py_gt)} |")
        print(f"| nlm-python / nlm | {py_u / nlm_u:.3f} | | {py_g / nlm_g:.3f} | |")
    if a.nlm_old:
        old_u, old_ut = best("nlm-old", "update_ms")
        old_g, old_gt = best("nlm-old", "generation_us")
        print(f"| nlm-old | {old_u:.1f} | {label('nlm', old_ut)} | {old_g:.1f} | {label('nlm', old_gt)} |")
        print(f"| nlm / nlm-old | {nlm_u / old_u:.3f} | | {nlm_g / old_g:.3f} | |")
    for tool, (u, g) in peers.items():
        print(f"| nlm speed-up vs {tool} | {u / nlm_u:.2f}× | | {g / nlm_g:.2f}× | |")
        if a.nlm_python:
            print(f"| nlm-python speed-up vs {tool} | {u / py_u:.2f}× | | {g / py_g:.2f}× | |")
    print(f"| bare sgemm at nlm's setting | {bare_u:.1f} | {label('nlm', nlm_ut)} | {bare_g:.1f} | "
          f"{label('nlm', nlm_gt)} |")
    print(f"| fraction of the sgemm bound (bare / nlm) | {bare_u / nlm_u:.3f} | | "
          f"{bare_g / nlm_g:.3f} | |")
    print()

    def verdict(ok):
        return "MET" if ok else "NOT MET"

    ratio = nlm_u / bare_u
    print(f"target: update <= {UPDATE_BOUND:.2f} x its 24 bare sgemm products: "
          f"{ratio:.3f} x -> {verdict(ratio <= UPDATE_BOUND)}")
    if "torch" in peers:
        su = peers["torch"][0] / nlm_u
        sg = peers["torch"][1] / nlm_g
        print(f"target: update >= {UPDATE_VS_TORCH:.1f} x faster than PyTorch: {su:.2f} x -> "
              f"{verdict(su >= UPDATE_VS_TORCH)}")
        print(f"target: generation step >= {GENERATION_VS_TORCH:.1f} x faster than PyTorch: "
              f"{sg:.2f} x -> {verdict(sg >= GENERATION_VS_TORCH)}")
        # Both sides call the same OpenBLAS sgemm: no implementation of these 24 (2) products
        # can beat PyTorch by more than PyTorch's time over the bare products.
        fastest_u = min(med("nlm", t, "update_bare_ms") for t in settings["nlm"])
        fastest_g = min(med("nlm", t, "generation_bare_us") for t in settings["nlm"])
        print(f"ceiling: PyTorch / fastest bare sgemm = {peers['torch'][0] / fastest_u:.2f} x per "
              f"update, {peers['torch'][1] / fastest_g:.2f} x per generation step")
    if a.nlm_python:
        # The same process's Python call against the same call timed in C++ (nlm_python_peer.py):
        # the median over rounds of each setting's median overhead, at the fastest setting.
        ou = med("nlm-python", py_ut, "update_overhead")
        og = med("nlm-python", py_gt, "generation_overhead")
        print(f"target: the Python layer costs <= {PYTHON_OVERHEAD:.0%} of the paper's update: {ou:+.2%} "
              f"-> {verdict(ou <= PYTHON_OVERHEAD)} (generation step on 36 chains: {og:+.2%})")
    if a.bf16:
        # The float32 sgemm bound: the fastest bare sgemm of the 24 products measured in this run
        # (in nlm's and nlm-bf16's processes, at every setting).
        bound = min(med(tool, t, "update_bare_ms") for tool in ("nlm", "nlm-bf16") for t in settings[tool])
        r_bound = b16_u / bound
        r_fp32 = peers["torch"][0] / b16_u
        r_gen = peers["torch"][1] / b16_g
        print(f"| nlm-bf16 speed-up vs nlm (float32) | {nlm_u / b16_u:.2f}× | | {nlm_g / b16_g:.2f}× | |")
        print()
        print(f"target: bf16 update <= {BF16_UPDATE_BOUND:.2f} x the fp32 sgemm bound: {r_bound:.3f} x -> "
              f"{verdict(r_bound <= BF16_UPDATE_BOUND)}  (bound {bound:.1f} ms)")
        print(f"target: bf16 update >= {BF16_VS_TORCH_FP32:.1f} x faster than PyTorch float32: {r_fp32:.2f} x -> "
              f"{verdict(r_fp32 >= BF16_VS_TORCH_FP32)}")
        if "torch-bf16" in peers:
            r_bf16 = min(peers["torch-bf16"][0], peers["torch-autocast"][0]) / b16_u
            print(f"target: bf16 update >= {BF16_VS_TORCH_BF16:.1f} x faster than PyTorch bf16: {r_bf16:.2f} x -> "
                  f"{verdict(r_bf16 >= BF16_VS_TORCH_BF16)}")
        print(f"target: bf16 generation step (36 chains) >= {BF16_GENERATION_VS_TORCH:.1f} x faster than "
              f"PyTorch float32: {r_gen:.2f} x -> {verdict(r_gen >= BF16_GENERATION_VS_TORCH)}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({f"{tool}/{t}": v for (tool, t), v in runs.items()}, f, indent=1)


if __name__ == "__main__":
    main()
