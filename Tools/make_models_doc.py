#!/usr/bin/env python3
"""Write docs/MODELS.md: the table of published pretrained weights (`zoo weights --json`) with the
milliseconds per image at batch 1 and 16 measured on this machine (`zoo bench`, inference through
the compiled plans, median of --iters runs), like the CPU column of Keras' table of applications.

    swift build -c release --product zoo && python3 Tools/make_models_doc.py [--iters 5] [--models resnet50 ...]

Each model is timed once (its tags share an architecture). The page names the CPU, its AVX-512
features, the thread count and the command; the timings are this machine's, not a promise.
"""
import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
ZOO = ROOT / ".build" / "release" / "zoo"


def run_json(arguments):
    result = subprocess.run([str(ZOO)] + arguments, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"make_models_doc.py: zoo {' '.join(arguments)} failed: {result.stderr.strip()}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def machine():
    model, flags = "unknown CPU", set()
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name") and model == "unknown CPU":
            model = line.split(":", 1)[1].strip()
        if line.startswith("flags"):
            flags |= {f for f in line.split(":", 1)[1].split() if f.startswith("avx512")}
    isa = "AVX-512 (" + ", ".join(sorted(f[len("avx512"):].strip("_") for f in flags)) + ")" if flags else "AVX2"
    return model, isa, os.cpu_count()


def cell(value, form):
    return "—" if value is None else form.format(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--models", nargs="*")
    parser.add_argument("--out", default=str(ROOT / "docs" / "MODELS.md"))
    options = parser.parse_args()
    if not ZOO.exists():
        raise SystemExit("make_models_doc.py: build zoo first: swift build -c release --product zoo")
    rows = run_json(["weights", "--json"] + (options.models or []))
    timings = {}
    for model in dict.fromkeys(row["model"] for row in rows):
        timings[model] = {}
        for batch in (1, 16):
            result = run_json(["bench", "--model", model, "--batch", str(batch), "--iters", str(options.iters), "--json"])[0]
            timings[model][batch] = result["ms_per_batch"] / batch
            print(f"{model} batch {batch}: {timings[model][batch]:.1f} ms per image", file=sys.stderr)
    cpu, isa, cores = machine()
    lines = [
        "# Published pretrained weights",
        "",
        "Every weight file that torchvision, timm and the pretrainedmodels package publish for a model of",
        "ConvZoo's registry, as `zoo weights` lists it. `--weights TAG` (or `Zoo.load(name, weights:",
        ".pretrained(\"TAG\"))`) downloads one once into the weights cache and checks its SHA-256; `DEFAULT`",
        "(marked *) is the tag a user gets by asking for the model's pretrained weights.",
        "",
        "- **Size**: the file's, where the publisher says it; else the float32 parameters and buffers.",
        "- **Top-1, top-5**: the publisher's ImageNet-1k accuracy (%), where its metadata carries it",
        "  (torchvision's does; timm's and pretrainedmodels' installed metadata do not).",
        "- **Depth**: convolution and fully connected layers on the longest path from input to output,",
        "  counted on the traced model (resnet50: 50).",
        "- **GMACs**: multiply-accumulates of one image at the model's input.",
        "- **ms/image**: inference through ConvZoo's compiled plan, median of "
        f"{options.iters} runs after a warm-up, at batch 1 and per image at batch 16.",
        "",
        f"Measured on {cpu}, {isa}, {cores} threads, {datetime.date.today().isoformat()}, by",
        "`swift build -c release --product zoo && python3 Tools/make_models_doc.py`"
        + (f" --iters {options.iters}" if options.iters != 5 else "") + ".",
        "",
        "| model | tag | size (MB) | top-1 | top-5 | parameters | depth | GMACs | ms/image, batch 1 | ms/image, batch 16 | source |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        tag = row["tag"] + (" *" if row["default"] else "")
        lines.append("| " + " | ".join([
            row["model"], tag, f"{row['size_bytes'] / 1e6:.1f}", cell(row.get("top1"), "{:.2f}"), cell(row.get("top5"), "{:.2f}"),
            f"{row['parameters']:,}", cell(row.get("depth"), "{}"), f"{row['macs'] / 1e9:.2f}",
            f"{timings[row['model']][1]:.1f}", f"{timings[row['model']][16]:.1f}", row["source"],
        ]) + " |")
    lines.append("")
    path = pathlib.Path(options.out)
    temporary = path.with_name("." + path.name + ".tmp")
    temporary.write_text("\n".join(lines))
    temporary.replace(path)
    print(f"wrote {path} ({len(rows)} weight files of {len(timings)} models)", file=sys.stderr)


if __name__ == "__main__":
    main()
