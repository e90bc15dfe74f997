#!/usr/bin/env python3
"""Time one of ConvZoo's benchmark cases in PyTorch (eager) or ONNX Runtime, as `zoo bench` does.

    VENV/bin/python Tools/bench_pytorch.py --framework pytorch --case resnet50-infer-b16 --threads 2 --iters 3
    VENV/bin/python Tools/bench_pytorch.py --framework onnxruntime --case resnet50-infer-b1 --threads 2 --iters 10

Prints one JSON object: framework, version, case, ms_per_batch (median of --iters timed runs
after one warm-up run), images_per_second, threads. Cases, with random inputs and weights (the
models of Tools/make_parity_fixtures.py: torchvision's, and the CIFAR nets and LeNet-5 written
there as ConvZoo builds them):
  MODEL-infer-bB     inference (eval, inference_mode) at batch B, at the model's own input size
                     (3x224x224 for most; 3x299x299 inception_v3, xception, inception_resnet_v2;
                     3x331x331 nasnetalarge; 3x32x32 with 10 classes for the CIFAR nets)
  MODEL-train-bB     a training step (forward, cross-entropy, backward, SGD momentum 0.9 update)
                     at the same sizes
  MODEL-frozen-bB    the same step with a new 10-class classifier (the model's last Linear layer)
                     as the only trainable part: requires_grad=False on everything before it
  lenet5-epoch-b64   one training epoch over Fashion-MNIST's 60,000 training images
                     (/usr/share/datasets/fashion-mnist), batch 64, shuffled, SGD lr 0.01
                     momentum 0.9, no augmentation or evaluation; ms_per_batch is the epoch's
                     time per batch and seconds_per_epoch the whole
--channels-last runs PyTorch on channels_last tensors (its recommended layout for CNNs on the
CPU), the model and the input converted. ONNX Runtime runs inference cases only: the model is exported from PyTorch once per model and
batch (cached in --onnx-dir) and run on the CPU provider with intra_op_num_threads = --threads.
"""
import argparse
import gzip
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_parity_fixtures import DEFAULTS, IMAGENET, build_model  # noqa: E402


def parse_case(case):
    parts = case.split("-")
    if len(parts) != 3 or parts[1] not in ("infer", "train", "frozen", "epoch") or not parts[2].startswith("b"):
        raise SystemExit(f"--case must be MODEL-infer-bB, MODEL-train-bB, MODEL-frozen-bB or lenet5-epoch-b64, not {case!r}")
    model, mode, batch = parts[0], parts[1], int(parts[2][1:])
    # Each model at the input it is defined for, as `zoo bench` runs it by default.
    shape, classes = DEFAULTS.get(model, IMAGENET)
    if mode == "frozen":
        classes = 10
    return model, mode, batch, shape, classes


def timed(step, iters):
    step()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    rank = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def find(folder, stem):
    for name in (stem, stem + ".gz"):
        if os.path.exists(os.path.join(folder, name)):
            return os.path.join(folder, name)
    raise SystemExit(f"{folder} has no {stem}")


def lenet_epoch(batch, data_folder):
    images = idx(find(data_folder, "train-images-idx3-ubyte")).astype(np.float32) / 255
    labels = idx(find(data_folder, "train-labels-idx1-ubyte")).astype(np.int64)
    x = torch.from_numpy((images - images.mean()) / images.std()).unsqueeze(1)
    y = torch.from_numpy(labels)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch, shuffle=True)
    torch.manual_seed(1)
    model = build_model("lenet5", 1, (28, 28), 10).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step(xb, yb):
        optimizer.zero_grad()
        F.cross_entropy(model(xb), yb).backward()
        optimizer.step()

    for i, (xb, yb) in enumerate(loader):
        step(xb, yb)
        if i == 2:
            break
    start = time.perf_counter()
    count = 0
    for xb, yb in loader:
        step(xb, yb)
        count += 1
    seconds = time.perf_counter() - start
    return {"seconds_per_epoch": seconds, "ms_per_batch": seconds * 1000 / count, "images_per_second": len(y) / seconds}


def export_onnx(name, model, x, path):
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    try:
        torch.onnx.export(model, (x,), tmp, opset_version=17, dynamo=False)
    except TypeError:
        torch.onnx.export(model, (x,), tmp, opset_version=17)
    os.replace(tmp, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--framework", choices=["pytorch", "onnxruntime"], required=True)
    parser.add_argument("--case", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--onnx-dir", default="/tmp/convzoo-onnx")
    parser.add_argument("--channels-last", action="store_true", help="PyTorch on channels_last tensors")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model_name, mode, batch, shape, classes = parse_case(args.case)
    result = {"framework": args.framework, "case": args.case, "threads": args.threads,
              "layout": "channels_last" if args.channels_last else "nchw"}
    if args.framework == "pytorch":
        result["version"] = torch.__version__
        if mode == "epoch":
            result.update(lenet_epoch(batch, args.data))
            print(json.dumps(result))
            return
        torch.manual_seed(1)
        model = build_model(model_name, shape[0], shape[1:], classes)
        x = torch.randn(batch, *shape, generator=torch.Generator().manual_seed(2))
        if args.channels_last:
            model = model.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        if mode == "frozen":
            head = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
            for p in model.parameters():
                p.requires_grad_(False)
            for p in head.parameters():
                p.requires_grad_(True)
        if mode == "infer":
            model.eval()

            def step():
                with torch.inference_mode():
                    model(x)
        else:
            model.train()
            labels = torch.arange(batch) % classes
            optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-4, momentum=0.9)

            def step():
                optimizer.zero_grad()
                F.cross_entropy(model(x), labels).backward()
                optimizer.step()
        ms = timed(step, args.iters)
    else:
        import onnxruntime as ort
        if mode != "infer":
            raise SystemExit("ONNX Runtime runs inference cases only")
        result["version"] = ort.__version__
        torch.manual_seed(1)
        model = build_model(model_name, shape[0], shape[1:], classes).eval()
        x = torch.randn(batch, *shape, generator=torch.Generator().manual_seed(2))
        path = os.path.join(args.onnx_dir, f"{model_name}-b{batch}.onnx")
        export_onnx(model_name, model, x, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        feed = {session.get_inputs()[0].name: x.numpy()}
        ms = timed(lambda: session.run(None, feed), args.iters)
    result.update({"ms_per_batch": ms, "images_per_second": batch / ms * 1000})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
