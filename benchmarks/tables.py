#!/usr/bin/env python3
"""Turns nlm_benchmarks JSON output (--benchmark_out) into the Markdown tables of
docs/performance.md: the median over repetitions of every benchmark, then the sampler-step
scaling table.

  /usr/bin/python3 benchmarks/tables.py build-bench/results/bench_t1.json
"""
import json
import sys


def medians(path):
    with open(path) as f:
        doc = json.load(f)
    rows = []
    for b in doc["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        name = b["run_name"].replace("/manual_time", "")
        rows.append((name, b))
    # With repetitions keep the median aggregates; without, the single runs.
    agg = {n: b for n, b in rows if b.get("run_type") == "aggregate"}
    if agg:
        rows = [(n, b) for n, b in rows if b.get("run_type") == "aggregate"]
    return doc["context"], rows


def ms(b):
    scale = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}[b["time_unit"]]
    return b["real_time"] * scale


def fmt(v, spec):
    return "" if v is None else format(v, spec)


def main():
    for path in sys.argv[1:]:
        context, rows = medians(path)
        print(f"{path}: {context.get('openblas', '')}; {context.get('num_cpus')} CPUs; "
              f"load average {context.get('load_avg')}")
        print()
        print("| benchmark | time (ms) | GFLOP/s | bare GEMM (ms) | bare GFLOP/s | ratio to bare | "
              "items/s (M) | note |")
        print("|---|---:|---:|---:|---:|---:|---:|---|")
        for name, b in rows:
            if name.startswith("BM_SamplerStepScaling"):
                continue
            flops = b.get("FLOPS")
            items = b.get("items_per_second")
            print(f"| {name} | {ms(b):.3f} | {fmt(flops and flops / 1e9, '.1f')} | "
                  f"{b.get('bare_ms', 0):.3f} | {b.get('bare_FLOPS', 0) / 1e9:.1f} | "
                  f"{b.get('ratio', 0):.3f} | {fmt(items and items / 1e6, '.0f')} | "
                  f"{b.get('label', '')} |")
        scaling = [(n, b) for n, b in rows if n.startswith("BM_SamplerStepScaling")]
        if scaling:
            print()
            print("| N | B | N²B (M) | time (ms) | GFLOP/s | ps per N²B | ratio to bare |")
            print("|---:|---:|---:|---:|---:|---:|---:|")
            for name, b in scaling:
                parts = dict(p.split(":") for p in name.split("/")[1:])
                n, bb = int(parts["N"]), int(parts["B"])
                print(f"| {n} | {bb} | {n * n * bb / 1e6:.1f} | {ms(b):.2f} | "
                      f"{b['FLOPS'] / 1e9:.1f} | {b['ps_per_N2B']:.1f} | {b['ratio']:.3f} |")
        print()


if __name__ == "__main__":
    main()
