#!/usr/bin/env python3
"""Write sample images from the Fashion-MNIST test split (Debian's dataset-fashion-mnist) for
the README: the first test image of four classes, as PNG and as JPEG (the JPEG upscaled 4× so
that the resize path runs too).

    /usr/bin/python3 Tools/make_samples.py      # needs python3-pil
"""
import gzip
import os
import struct

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = "/usr/share/datasets/fashion-mnist"
OUT = os.path.join(ROOT, "Weights", "samples")
CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"]
WANTED = ["ankle-boot", "trouser", "sneaker", "bag"]


def read_idx(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        data = f.read()
    rank = data[3]
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return dims, data[4 + 4 * rank:]


def main():
    (count, height, width), pixels = read_idx("t10k-images-idx3-ubyte.gz")
    _, labels = read_idx("t10k-labels-idx1-ubyte.gz")
    os.makedirs(OUT, exist_ok=True)
    for name in WANTED:
        index = next(i for i in range(count) if CLASSES[labels[i]] == name)
        image = Image.frombytes("L", (width, height), pixels[index * height * width:(index + 1) * height * width])
        image.save(os.path.join(OUT, f"{name}.png"))
        image.resize((width * 4, height * 4), Image.BICUBIC).save(os.path.join(OUT, f"{name}.jpg"), quality=92)
        print(f"{name}: test image {index}")


if __name__ == "__main__":
    main()
