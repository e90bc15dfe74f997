#!/usr/bin/env python3
"""ConvZoo against PyTorch and ONNX Runtime on this machine: every case, alternating, N rounds.

    python3 Tools/bench_compare.py --venv /tmp/convzoo-bench [--rounds 5] [--threads 2] [--cases ...] [--out DIR]

Needs a release build (`swift build -c release`) and a venv with torch, torchvision, onnx and
onnxruntime (Tools/bench_setup makes one). In every round each case runs once in each
framework, in turn, each in a fresh process (`zoo bench --json`, Tools/bench_pytorch.py); a
run reports the median of its own timed iterations, and the table gives the median over the
rounds. Peak resident memory of resnet50 inference and training at batch 16 is measured once per framework
with /usr/bin/time -v. Writes benchmarks/RESULTS.md (the table) and benchmarks/raw.jsonl
(every run).
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INFERENCE_MODELS = ["alexnet", "vgg16", "googlenet", "resnet18", "resnet50", "densenet121"]
CASES = ([f"{m}-infer-b1" for m in INFERENCE_MODELS] + [f"{m}-infer-b16" for m in INFERENCE_MODELS]
         + ["resnet20-train-b128", "resnet18-train-b16", "lenet5-epoch-b64"])
# The models beyond the classic six (`--cases more-models`), each at its own input size.
MORE_MODELS = ["squeezenet1_0", "squeezenet1_1", "mobilenet_v1", "mobilenet_v2", "nasnetamobile", "inception_v3",
                "xception", "resnext50_32x4d", "wide_resnet50_2", "inception_resnet_v2", "resnext101_32x8d",
                "wide_resnet101_2", "nasnetalarge"]
MORE = [f"{m}-infer-b1" for m in MORE_MODELS] + [f"{m}-infer-b16" for m in MORE_MODELS]
# The inference cases (`--cases inference`): the classic six models and three more, inference only.
INFERENCE_PLAN_MODELS = INFERENCE_MODELS + ["inception_v3", "mobilenet_v2", "resnext50_32x4d"]
INFERENCE = [f"{m}-infer-b1" for m in INFERENCE_PLAN_MODELS] + [f"{m}-infer-b16" for m in INFERENCE_PLAN_MODELS]
# The training cases (`--cases training`): steps at batch 16 on ImageNet-size models and 128 on a
# CIFAR net, a step with a frozen backbone and a new 10-class head, and a LeNet-5 epoch. PyTorch
# runs them both in NCHW and in channels_last, and the table takes the faster of the two.
TRAINING = ["resnet18-train-b16", "resnet50-train-b16", "mobilenet_v2-train-b16", "densenet121-train-b16",
            "resnet20-train-b128", "resnet50-frozen-b16", "lenet5-epoch-b64"]
# Models whose batch of 16 takes seconds: fewer timed iterations.
HEAVY = {"vgg16", "inception_v3", "xception", "wide_resnet50_2", "inception_resnet_v2", "resnext101_32x8d",
         "wide_resnet101_2", "nasnetalarge"}


def iterations(case):
    model, mode, batch = case.split("-")
    if mode == "epoch":
        return 1
    if batch == "b1":
        return 10
    return 3 if model in ("vgg16", "resnet18") and mode in ("train", "frozen") or model in HEAVY else 5


def zoo_command(case, threads):
    model, mode, batch = case.split("-")
    b = batch[1:]
    command = [os.path.join(ROOT, ".build/release/zoo"), "bench", "--model", model, "--batch", b, "--threads", str(threads), "--json"]
    if mode == "epoch":
        return command + ["--epoch", "fashion-mnist"]
    command += ["--iters", str(iterations(case))]
    # Every model at the input it is defined for (`zoo bench`'s default, as Tools/bench_pytorch.py).
    if mode == "frozen":
        return command + ["--train", "--freeze", "backbone", "--num-classes", "10"]
    return command + (["--train"] if mode == "train" else [])


def python_command(venv, framework, case, threads):
    layout = ["--channels-last"] if framework == "pytorch-cl" else []
    return [os.path.join(venv, "bin/python"), os.path.join(ROOT, "Tools/bench_pytorch.py"),
            "--framework", "pytorch" if framework == "pytorch-cl" else framework,
            "--case", case, "--threads", str(threads), "--iters", str(iterations(case))] + layout


def runs_case(framework, case):
    """ONNX Runtime times inference only; PyTorch in channels_last times the training steps."""
    if framework == "onnxruntime":
        return "-infer-" in case
    if framework == "pytorch-cl":
        return "-train-" in case or "-frozen-" in case
    return True


def run(command, env, memory=False):
    if memory:
        command = ["/usr/bin/time", "-v"] + command
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    line = [l for l in done.stdout.splitlines() if l.startswith("{")][-1]
    result = json.loads(line)
    if memory:
        kb = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
        result["max_rss_mb"] = int(kb.group(1)) / 1024 if kb else None
    return result


def machine():
    model, flags = "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name") and model == "unknown CPU":
                    model = line.split(":", 1)[1].strip()
                if line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    avx512 = sorted(f[len("avx512"):].lstrip("_") for f in flags if f.startswith("avx512"))
    isa = f"AVX-512 ({', '.join(avx512)})" if avx512 else "AVX2" if "avx2" in flags else "no AVX2"
    if os.environ.get("DNNL_MAX_CPU_ISA"):
        isa += f", oneDNN held to DNNL_MAX_CPU_ISA={os.environ['DNNL_MAX_CPU_ISA']}"
    return f"{model}, {isa}, {os.cpu_count()} logical CPUs, Linux {platform.release()}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--venv", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cases", nargs="*", default=CASES,
                        help="case names, or more-models (the models beyond the classic six), or inference (nine models, "
                             "inference only), or training (training steps, a frozen backbone, an epoch)")
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks"))
    args = parser.parse_args()
    sets = {"more-models": MORE, "inference": INFERENCE, "training": TRAINING}
    chosen = [name for name in sets if args.cases == [name]]
    args.cases = [c for case in args.cases for c in sets.get(case, [case])]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), ZOO_THREADS=str(args.threads))
    frameworks = ["convzoo", "pytorch", "pytorch-cl", "onnxruntime"]
    runs = {(f, c): [] for f in frameworks for c in args.cases}
    versions = {}
    engines = set()
    memory = {}
    epochs = {}
    builds = {}
    os.makedirs(args.out, exist_ok=True)
    raw = open(os.path.join(args.out, "raw.jsonl"), "w")
    for round_ in range(1, args.rounds + 1):
        for case in args.cases:
            order = frameworks if round_ % 2 else list(reversed(frameworks))
            for framework in order:
                if not runs_case(framework, case):
                    continue
                command = (zoo_command(case, args.threads) if framework == "convzoo"
                           else python_command(args.venv, framework, case, args.threads))
                measure_memory = round_ == 1 and case in ("resnet50-infer-b16", "resnet50-train-b16")
                result = run(command, env, memory=measure_memory)
                result.update({"framework": framework, "case": case, "round": round_})
                if measure_memory:
                    memory[(framework, case)] = result.get("max_rss_mb")
                versions[framework] = result.get("version", versions.get(framework))
                if framework == "convzoo":
                    engines.add(result.get("convolutions", "unknown") if result.get("path", "eager") == "eager"
                                else "inference plan" if result.get("path") == "plan" else result.get("path"))
                runs[(framework, case)].append(result["ms_per_batch"])
                if result.get("plan_build_ms"):
                    builds.setdefault(case, []).append(result["plan_build_ms"])
                if "seconds_per_epoch" in result:
                    epochs.setdefault((framework, case), []).append(result["seconds_per_epoch"])
                raw.write(json.dumps(result) + "\n")
                raw.flush()
                print(f"round {round_} {case:22s} {framework:12s} {result['ms_per_batch']:10.2f} ms/batch", flush=True)
    raw.close()

    def median(framework, case):
        values = runs[(framework, case)]
        return statistics.median(values) if values else None

    lines = ["# ConvZoo against PyTorch and ONNX Runtime", "",
             f"Measured {datetime.date.today().isoformat()} on {machine()}, {args.threads} threads everywhere, "
             f"by `python3 Tools/bench_compare.py --venv VENV --rounds {args.rounds}{' --cases ' + chosen[0] if chosen else ''}`: in each of {args.rounds} rounds every case ran "
             "once per framework, alternating, each in a fresh process; a run's figure is the median of its own timed iterations "
             "after one warm-up, and the table gives the median over the rounds. "
             f"ConvZoo {subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip()} "
             f"(execution: {'; '.join(sorted(engines))}), "
             f"PyTorch {versions.get('pytorch')} (eager), ONNX Runtime {versions.get('onnxruntime')} (CPU provider, all graph optimisations). "
             "Ratios are the other framework's time over ConvZoo's: above 1 means ConvZoo is faster. "
             "A training step's PyTorch time is the faster of NCHW and channels_last (the layout says which).", "",
             "| case | ConvZoo ms | PyTorch ms | PyTorch layout | ONNX Runtime ms | PyTorch / ConvZoo | ONNX Runtime / ConvZoo |",
             "|---|---:|---:|---|---:|---:|---:|"]
    for case in args.cases:
        ours, ort_ms = median("convzoo", case), median("onnxruntime", case)
        layouts = [(ms, name) for ms, name in [(median("pytorch", case), "NCHW"), (median("pytorch-cl", case), "channels_last")]
                   if ms is not None]
        torch_ms, layout = min(layouts) if layouts else (None, "—")

        def cell(v):
            return f"{v:.1f}" if v is not None else "—"

        def ratio(v):
            return f"{v / ours:.2f}" if v is not None and ours else "—"
        lines.append(f"| {case} | {cell(ours)} | {cell(torch_ms)} | {layout} | {cell(ort_ms)} | {ratio(torch_ms)} | {ratio(ort_ms)} |")
    if epochs.get(("convzoo", "lenet5-epoch-b64")) and epochs.get(("pytorch", "lenet5-epoch-b64")):
        lines += ["", "lenet5-epoch-b64 is one epoch of 60,000 Fashion-MNIST images (938 batches of 64), median seconds "
                  f"per epoch: ConvZoo {statistics.median(epochs[('convzoo', 'lenet5-epoch-b64')]):.2f} s, "
                  f"PyTorch {statistics.median(epochs[('pytorch', 'lenet5-epoch-b64')]):.2f} s."]
    if builds:
        lines += ["", "ConvZoo's inference plan build time (tracing, fusion, oneDNN primitives and weight reorders; "
                  "median over the rounds, once per process): " +
                  ", ".join(f"{case} {statistics.median(v):.0f} ms" for case, v in builds.items()) + "."]
    for case, what in [("resnet50-infer-b16", "resnet50 inference at batch 16"), ("resnet50-train-b16", "a resnet50 training step at batch 16")]:
        measured = [(framework, mb) for (framework, c), mb in memory.items() if c == case and mb is not None]
        if measured:
            lines += ["", f"Peak resident memory, {what} (`/usr/bin/time -v`, whole process): " +
                      ", ".join(f"{framework} {mb:.0f} MB" for framework, mb in measured) + "."]
    with open(os.path.join(args.out, "RESULTS.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
