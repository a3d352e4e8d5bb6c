#!/usr/bin/env python3
"""Class-conditional generation with label units, from Python: train the NLM on MNIST digits
with 10 label units per class appended to each image (+1 for its class, -1 for the others),
then generate each class by holding its chains' label units at that class's code while the
image units run free. A classifier trained on held-out real digits says how many samples show
the requested digit.

    python3 examples/python/conditional_generation.py --data data/mnist --out out/python_conditional

Writes conditional.png (one row per class) and model.nlm (with its unit layout: mnist_generate
--class reads it) into --out, and ends with the line "conditional_generation: ...".
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
    p.add_argument("--data", default="data/mnist", help="MNIST directory (scripts/get_mnist.sh), default %(default)s")
    p.add_argument("--digits", default="1,3,6", help="digits (classes) to learn, default %(default)s")
    p.add_argument("--images", type=int, default=18000, help="training images (at most), default %(default)s")
    p.add_argument("--held-out", type=int, default=100, help="digits per class held out, default %(default)s")
    p.add_argument("--label-units", type=int, default=10, help="label units per class, default %(default)s")
    p.add_argument("--updates", type=int, default=3000, help="training updates, default %(default)s")
    p.add_argument("--per-class", type=int, default=12, help="samples per class, default %(default)s")
    p.add_argument("--steps", type=int, default=25000, help="Langevin steps of generation, default %(default)s")
    p.add_argument("--seed", type=int, default=0, help="seed of training (generation uses seed + 30)")
    p.add_argument("--out", default="out/python_conditional", help="output directory, default %(default)s")
    a = p.parse_args(argv)
    if min(a.images, a.held_out, a.label_units, a.updates, a.per_class, a.steps) <= 0:
        p.error("--images, --held-out, --label-units, --updates, --per-class and --steps must be > 0")
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    digits = digit_list(a.digits)
    (x, labels), (held, held_labels) = split(*load_digits(a.data, digits), a.images, a.held_out)
    layout = nlm.UnitLayout(visible=x.shape[1], classes=digits, units_per_class=a.label_units, label_scale=1.0)
    rows = layout.data_rows(x, labels)
    print(f"data: {len(x)} digits {a.digits}; neurons {layout.neurons} = {layout.visible} image + "
          f"{layout.labels} label units")

    # mnist_train --preset quick --labels: the quick preset on the joint rows.
    machine = nlm.Machine(neurons=layout.neurons, batch_size=200, persistent_chains=200, learning_rate=2e-3,
                          learn_field=True, chain_restart=0.01, seed=a.seed)
    machine.fit_field(rows)
    start = time.perf_counter()
    machine.train(rows, updates=a.updates, anneal=1 / 3, progress=True)
    seconds = time.perf_counter() - start
    print(f"trained {machine.updates} updates in {seconds:.1f} s")
    machine.save_model(str(out / "model.nlm"), layout=layout)

    wanted = np.repeat(digits, a.per_class)
    mask, values = layout.label_clamp(wanted)
    hp = machine.hyperparameters
    model = nlm.Model(machine.J, machine.b, T=hp["temperature"], seed=a.seed + 30)
    chains = model.sample(len(wanted), steps=a.steps, dt=hp["time_step"], seed=a.seed + 30,
                          clamp_mask=mask, clamp_values=values)
    images = np.tanh(chains[:, : layout.visible])

    classifier = nlm.Classifier(held, held_labels, flip_noise=0.35, seed=a.seed)
    predicted = classifier.predict(images)
    per_class = {d: float(np.mean(predicted[wanted == d] == d)) for d in digits}
    recognised = float(np.mean(predicted == wanted))
    image_grid(images, len(digits), a.per_class, out / "conditional.png",
               f"label units held at each class's code ({a.steps} steps)", row_labels=[str(d) for d in digits])
    detail = ", ".join(f"{d}: {f:.2f}" for d, f in per_class.items())
    print(f"conditional_generation: recognised as requested {recognised:.2f} ({detail}); "
          f"wrote {out / 'conditional.png'}")
    return recognised, per_class


if __name__ == "__main__":
    main()
