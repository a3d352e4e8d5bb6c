#!/usr/bin/env python3
"""A fixed-point census of a trained NLM from Python: the fixed points x* = J tanh(x*) + b of
its plain recurrent network (the attractors its noiseless dynamics fall into), found from
starts drawn from noise and from held-out real digits, each with its energy, basin share and
stability, drawn as images and named by a classifier.

    python3 examples/python/fixed_point_census.py --model out/python_quick/model.nlm --data data/mnist

--model: any model file or checkpoint (mnist_train's, mnist_quick.py's). Writes
fixed_points.png into --out and ends with the line "fixed_point_census: ...".
"""
import argparse
import pathlib
import sys
import time

import numpy as np

import nlm

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from mnist_data import digit_list, image_grid, load_digits, split  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="model.nlm or checkpoint.nlm")
    p.add_argument("--data", default="data/mnist", help="MNIST directory (scripts/get_mnist.sh), default %(default)s")
    p.add_argument("--digits", default="1,3,6", help="the model's digits, default %(default)s")
    p.add_argument("--held-out", type=int, default=100, help="digits per class held out, default %(default)s")
    p.add_argument("--starts", type=int, default=100, help="starts from N(0, s^2), default %(default)s")
    p.add_argument("--start-scale", type=float, default=1.0, help="s, default %(default)s")
    p.add_argument("--data-starts", type=int, default=50, help="starts from held-out digits, default %(default)s")
    p.add_argument("--descent-steps", type=int, default=2000, help="gradient steps before Newton, default %(default)s")
    p.add_argument("--seed", type=int, default=0, help="seed of the noise starts")
    p.add_argument("--out", default="out/python_census", help="output directory, default %(default)s")
    a = p.parse_args(argv)
    if a.starts + a.data_starts <= 0:
        p.error("--starts and --data-starts are both 0: no starts")
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    saved = nlm.read_model(a.model)
    layout = saved["layout"] or nlm.UnitLayout(visible=saved["neurons"])
    model = nlm.Model(saved["J"], saved["b"], dtype="float64")
    n = saved["neurons"]
    print(f"model: {a.model} ({saved['kind']}, {saved['updates']} updates), N = {n}")

    digits = digit_list(a.digits)
    _, (held, held_labels) = split(*load_digits(a.data, digits), 0, a.held_out)
    rng = np.random.default_rng(a.seed)
    from_data = min(a.data_starts, len(held))
    starts = np.zeros((a.starts + from_data, n))
    starts[: a.starts] = rng.normal(0, a.start_scale, (a.starts, n))
    starts[a.starts:, : layout.visible] = held[:from_data]  # label and latent units from 0

    start = time.perf_counter()
    census = model.fixed_points(starts, descent_steps=a.descent_steps)
    seconds = time.perf_counter() - start
    fixed, slow = census["fixed_points"], census["slow_points"]
    stable = int(np.sum(fixed["stable"]))
    print(f"census from {len(starts)} starts ({a.starts} noise, {from_data} digits) in {seconds:.1f} s")

    classifier = nlm.Classifier(held, held_labels, flip_noise=0.35, seed=a.seed)
    images = np.tanh(fixed["states"][:, : layout.visible]) if len(fixed["states"]) else np.zeros((0, layout.visible))
    names = classifier.predict(images) if len(images) else []
    print(f"{'#':>3} {'energy':>10} {'basin':>6} {'stable':>6} {'max Re':>8}  class")
    for k in range(len(images)):
        p_max = classifier.probabilities(images[k: k + 1]).max()
        print(f"{k:>3} {fixed['energy'][k]:>10.3g} {fixed['basin'][k]:>6.2f} {str(fixed['stable'][k]):>6} "
              f"{fixed['max_real'][k]:>8.3f}  {names[k]} (p = {p_max:.2f})")
    outcome = np.asarray(census["outcome"])
    noise_fixed = int(np.sum(outcome[: a.starts] >= 0))
    data_fixed = int(np.sum(outcome[a.starts:] >= 0))
    print(f"noise starts at fixed points: {noise_fixed} of {a.starts}; digit starts: {data_fixed} of {from_data}")
    wrote = "no picture (no fixed point)"
    if len(images):
        cols = min(10, len(images))
        image_grid(images, (len(images) + cols - 1) // cols, cols, out / "fixed_points.png",
                   f"fixed points of x = J tanh(x) + b ({stable} stable of {len(images)})")
        wrote = f"wrote {out / 'fixed_points.png'}"
    print(f"fixed_point_census: {len(images)} fixed points ({stable} stable), {len(slow['energy'])} slow points "
          f"from {len(starts)} starts ({census['not_converged']} not converged); {wrote}")
    return census


if __name__ == "__main__":
    main()
