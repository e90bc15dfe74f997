#!/usr/bin/env python3
"""Write the small seed inputs of the fuzz targets that the test fixtures do not already give.

    /usr/bin/python3 Tools/make_fuzz_seeds.py [--out Tests/Fixtures/fuzz-seeds]

Needs PyTorch (Debian's python3-torch 1.13 will do) for the .pth seeds. Writes, all from
torch.manual_seed(0):
  pth/tiny.pth, pth/tiny-legacy.pth   a tiny model's state_dict, torch.save zip and legacy formats
                                       (the legacy file names storages by object ids, so it differs per run)
  safetensors/tiny.safetensors         the same state_dict as safetensors (I64 num_batches_tracked), and
  safetensors/tiny-metadata.safetensors  with ConvZoo's metadata (labels, preprocessing)
  checkpoint/sgd.checkpoint, checkpoint/adam.checkpoint
                                       ConvZoo training checkpoints of the tiny model: its state_dict,
                                       "optimizer.momentum.I" (SGD) or "optimizer.exp_avg.I",
                                       "optimizer.exp_avg_sq.I", "optimizer.step.I" (Adam) after one
                                       PyTorch optimizer step, epochs_done 1 and an rng_state
  idx/images, idx/images.gz, idx/labels   IDX files (3 images of 4x5 bytes; 3 labels)
  cifar/batch, cifar/batch.gz          a CIFAR-10 binary batch of 2 records
The tiny model is ZooFuzz's: conv (1->2, 3x3), bn (2), fc (8->3); keys conv.*, bn.*, fc.*.

With --regressions DIR (Tests/Fixtures/fuzz) it also writes hostile inputs found by reading the
parsers, one folder per fuzz target, which the default test run replays (FuzzRegressionTests):
every one must be refused with one sentence, none may crash. Inputs the fuzzers find are copied
into the same folders by Tools/fuzz.
"""
import argparse
import gzip
import json
import os
import sys
from collections import OrderedDict

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_parity_fixtures import write_safetensors  # noqa: E402


def tiny():
    return nn.Sequential(OrderedDict(conv=nn.Conv2d(1, 2, 3), bn=nn.BatchNorm2d(2), fc=nn.Linear(8, 3)))


def checkpoint(model, optimizer_name):
    params = list(model.parameters())
    optimizer = (torch.optim.SGD(params, lr=0.1, momentum=0.9) if optimizer_name == "sgd"
                 else torch.optim.Adam(params, lr=1e-3))
    loss = sum((p * p).sum() for p in params)
    loss.backward()
    optimizer.step()
    tensors = OrderedDict(model.state_dict())
    for i, p in enumerate(params):
        state = optimizer.state[p]
        if optimizer_name == "sgd":
            tensors[f"optimizer.momentum.{i}"] = state["momentum_buffer"]
        else:
            tensors[f"optimizer.exp_avg.{i}"] = state["exp_avg"]
            tensors[f"optimizer.exp_avg_sq.{i}"] = state["exp_avg_sq"]
            tensors[f"optimizer.step.{i}"] = torch.tensor(float(state["step"]))
    metadata = {"architecture": "tiny", "epochs_done": "1", "format": "pt",
                "rng_state": "1,2,3,4"}
    return tensors, metadata


def regressions(out, seeds):
    """Hostile inputs, each named for what it does."""
    def write(target, name, data):
        os.makedirs(os.path.join(out, target), exist_ok=True)
        with open(os.path.join(out, target, name), "wb") as f:
            f.write(data)

    # A pickle that wraps one integer in 100,000 tuples: freeing such a value recursed once per level.
    write("pth", "pickle-nested-tuples.pth", b"\x80\x02K\x01" + b"\x85" * 100_000 + b".")
    # ... and in lists, through EMPTY_LIST/APPEND.
    write("pth", "pickle-nested-lists.pth", b"\x80\x02" + b"]" * 50_000 + b"a" * 49_999 + b".")
    # A zip whose ZIP64 locator points at byte 2^63 - 1: checking "offset + 4 <= size" overflowed.
    locator = (0x07064B50).to_bytes(4, "little") + bytes(4) + (2**63 - 1).to_bytes(8, "little") + (1).to_bytes(4, "little")
    end = (0x06054B50).to_bytes(4, "little") + bytes(6) + (0xFFFF).to_bytes(2, "little") + bytes(4) + (0xFFFFFFFF).to_bytes(4, "little") + bytes(2)
    write("pth", "zip64-locator-offset-overflow.pth", b"PK\x03\x04" + bytes(26) + locator + end)
    # A memo slot read before it is written, and a mark that is never closed.
    write("pth", "pickle-memo-unset.pth", b"\x80\x02h\x07.")
    write("pth", "pickle-mark-unclosed.pth", b"\x80\x02(" * 2000 + b".")

    with open(os.path.join(seeds, "checkpoint", "sgd.checkpoint"), "rb") as f:
        sgd = f.read()
    header_size = int.from_bytes(sgd[:8], "little")
    header = json.loads(sgd[8:8 + header_size])
    body = sgd[8 + header_size:]

    def rewrite(change):
        h = json.loads(json.dumps(header))
        change(h)
        blob = json.dumps(h, separators=(",", ":")).encode()
        blob += b" " * (-len(blob) % 8)
        return len(blob).to_bytes(8, "little") + blob + body

    # Momentum for conv.weight [2,1,3,3] stored as [18]: restored, it crashed the first SGD step.
    def flat_momentum(h):
        h["optimizer.momentum.0"]["shape"] = [18]
    write("checkpoint", "momentum-wrong-shape.checkpoint", rewrite(flat_momentum))
    # An all-zero xoshiro state yields zeros for ever: every shuffle the identity.
    write("checkpoint", "rng-state-zero.checkpoint", rewrite(lambda h: h["__metadata__"].update(rng_state="0,0,0,0")))
    write("checkpoint", "rng-state-short.checkpoint", rewrite(lambda h: h["__metadata__"].update(rng_state="1,2,3")))

    # IDX images of 3x0x5 bytes: an empty image passed the size check.
    write("idx", "zero-height-images", bytes([0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 5]))
    write("idx", "no-images", bytes([0, 0, 8, 3, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0, 28]))
    # A header whose sizes overflow when multiplied.
    write("idx", "overflowing-sizes", bytes([0, 0, 8, 4] + [0x7F, 0xFF, 0xFF, 0xFF] * 4))
    # gzip that inflates to 64 MiB of zeros (over the fuzz limit of 16 MiB).
    write("cifar", "gzip-bomb.gz", gzip.compress(bytes(64 << 20), compresslevel=9, mtime=0))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "fuzz-seeds"))
    parser.add_argument("--regressions", help="also write the hand-found hostile inputs into this folder")
    args = parser.parse_args()
    torch.manual_seed(0)
    folders = {name: os.path.join(args.out, name) for name in ["pth", "safetensors", "checkpoint", "idx", "cifar"]}
    for folder in folders.values():
        os.makedirs(folder, exist_ok=True)

    model = tiny()
    model.bn.running_mean.normal_()
    model.bn.num_batches_tracked.fill_(3)
    state = model.state_dict()
    torch.save(state, os.path.join(folders["pth"], "tiny.pth"))
    torch.save(state, os.path.join(folders["pth"], "tiny-legacy.pth"), _use_new_zipfile_serialization=False)
    write_safetensors(os.path.join(folders["safetensors"], "tiny.safetensors"), OrderedDict(state), {"format": "pt"})
    write_safetensors(os.path.join(folders["safetensors"], "tiny-metadata.safetensors"), OrderedDict(state), {
        "format": "pt", "architecture": "tiny", "class_count": "3", "input": "1x4x4", "labels": json.dumps(["a", "b", "c"]),
        "preprocessing": json.dumps({"grayscale": True, "interpolation": "bilinear", "mean": [0.5], "size": [4, 4], "std": [0.25]})})
    for name in ["sgd", "adam"]:
        tensors, metadata = checkpoint(tiny(), name)
        write_safetensors(os.path.join(folders["checkpoint"], f"{name}.checkpoint"), tensors, metadata)

    images = bytes([0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5]) + bytes(torch.randint(0, 256, (60,), dtype=torch.uint8).tolist())
    labels = bytes([0, 0, 8, 1, 0, 0, 0, 3, 1, 7, 9])
    batch = b"".join(bytes([label]) + bytes(torch.randint(0, 256, (3072,), dtype=torch.uint8).tolist()) for label in [3, 8])
    for path, data in [("idx/images", images), ("idx/labels", labels), ("cifar/batch", batch)]:
        with open(os.path.join(args.out, path), "wb") as f:
            f.write(data)
        with open(os.path.join(args.out, path + ".gz"), "wb") as f:
            f.write(gzip.compress(data, mtime=0))
    if args.regressions:
        regressions(args.regressions, args.out)
    for folder in sorted(folders.values()):
        for name in sorted(os.listdir(folder)):
            print(f"{os.path.join(folder, name)}: {os.path.getsize(os.path.join(folder, name))} bytes")


if __name__ == "__main__":
    main()
