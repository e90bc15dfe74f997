#!/usr/bin/env python3
"""Writes Sources/ConvZoo/ImageNetClasses.swift from Weights/labels/imagenet1k.txt (torchvision's
class names in index order, written by Tools/make_image_fixtures.py), so that the library names
ImageNet classes without reading a file at run time."""
import json
import pathlib

root = pathlib.Path(__file__).resolve().parent.parent
names = (root / "Weights/labels/imagenet1k.txt").read_text(encoding="utf-8").split("\n")
names = [n for n in names if n]
assert len(names) == 1000, len(names)
lines = ["// Written by Tools/make_imagenet_labels.py from Weights/labels/imagenet1k.txt; do not edit.", "",
         "/// The 1,000 ImageNet-1k class names in torchvision's index order.",
         "let imageNetClasses: [String] = ["]
lines += ["    " + json.dumps(n, ensure_ascii=False) + "," for n in names]
lines += ["]", ""]
(root / "Sources/ConvZoo/ImageNetClasses.swift").write_text("\n".join(lines), encoding="utf-8")
