#!/usr/bin/env python3
"""The quick MNIST demo from Python: train an NLM on the digits 1, 3, 6 with mnist_train's quick
preset, generate samples from N(0, I) by Langevin dynamics, draw them, and say how many a
classifier trained on real digits recognises.

    python3 examples/python/mnist_quick.py --data data/mnist --out out/python_quick

Writes samples.png, training_curve.png, model.nlm (every nlm program reads it) and
checkpoint.nlm (mnist_train --resume and Machine.resume continue it) into --out, and ends with
the line "mnist_quick: ...".
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
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="data/mnist", help="MNIST directory (scripts/get_mnist.sh), default %(default)s")
    p.add_argument("--digits", default="1,3,6", help="digits to learn, default %(default)s")
    p.add_argument("--images", type=int, default=18000, help="training images N_image (at most), default %(default)s")
    p.add_argument("--updates", type=int, default=3000, help="training updates, default %(default)s")
    p.add_argument("--held-out", type=int, default=100, help="digits per class held out (the classifier's), "
                   "default %(default)s")
    p.add_argument("--chains", type=int, default=36, help="samples to generate, default %(default)s")
    p.add_argument("--steps", type=int, default=25000, help="Langevin steps of generation, default %(default)s")
    p.add_argument("--seed", type=int, default=0, help="seed of training (generation uses seed + 30)")
    p.add_argument("--out", default="out/python_quick", help="output directory, default %(default)s")
    a = p.parse_args(argv)
    if min(a.images, a.updates, a.chains, a.steps, a.held_out) <= 0:
        p.error("--images, --updates, --held-out, --chains and --steps must be > 0")
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    digits = digit_list(a.digits)
    (x, labels), (held, held_labels) = split(*load_digits(a.data, digits), a.images, a.held_out)
    print(f"data: {len(x)} digits {a.digits} from {a.data} to train on, {len(held)} held out; x = 2v/255 - 1")

    # The quick preset (examples/common/presets.hpp): the paper's Table 1 with batches and
    # chains of 200, k = 2e-3 annealed to 0 over the last third, a learned field b and 1 % of
    # the chains restarted from noise before each update.
    machine = nlm.Machine(neurons=x.shape[1], batch_size=200, persistent_chains=200, learning_rate=2e-3,
                          learn_field=True, chain_restart=0.01, seed=a.seed)
    machine.fit_field(x)
    start = time.perf_counter()
    machine.train(x, updates=a.updates, anneal=1 / 3, checkpoint=str(out / "checkpoint.nlm"), progress=True)
    seconds = time.perf_counter() - start
    print(f"trained {machine.updates} updates in {seconds:.1f} s ({1000 * seconds / a.updates:.1f} ms/update)")
    machine.save_model(str(out / "model.nlm"))

    hp = machine.hyperparameters
    model = nlm.Model(machine.J, machine.b, T=hp["temperature"], seed=a.seed + 30)
    start = time.perf_counter()
    chains = model.sample(a.chains, steps=a.steps, dt=hp["time_step"], seed=a.seed + 30)
    print(f"generated {a.chains} samples, {a.steps} steps, in {time.perf_counter() - start:.1f} s")
    samples = np.tanh(chains)
    np.save(out / "samples.npy", samples)
    cols = min(12, a.chains)
    image_grid(samples, (a.chains + cols - 1) // cols, cols, out / "samples.png",
               f"NLM samples ({a.updates} updates, {a.steps} Langevin steps from N(0, I))")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    curve = machine.curve
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.semilogy(curve[:, 1], curve[:, 2])
    ax.set_xlabel("update")
    ax.set_ylabel("mean (M - D)^2 of the epoch")
    ax.set_title("training curve")
    fig.tight_layout()
    fig.savefig(out / "training_curve.png", dpi=100)
    plt.close(fig)

    # A classifier trained on the held-out real digits (flipped pixels in an augmented copy make
    # it robust to the samples' speckle, as mnist_evaluate's): confident when its largest p >= 0.9.
    classifier = nlm.Classifier(held, held_labels, flip_noise=0.35, seed=a.seed)
    s = classifier.assign(samples, confidence=0.9)
    r = classifier.assign(x[: 10 * a.chains], confidence=0.9)
    shares = ", ".join(f"{c}: {f:.2f}" for c, f in zip(s["classes"], s["class_fractions"]))
    print(f"training digits confidently classified: {r['confident_fraction']:.2f}")
    print(f"mnist_quick: {machine.updates} updates in {seconds:.1f} s; {a.chains} samples, confidently classified "
          f"{s['confident_fraction']:.2f}, shares {shares}; wrote {out / 'samples.png'}")
    return s


if __name__ == "__main__":
    main()
