#!/usr/bin/env python3
"""The communication cost of ConvZoo's data-parallel training, and what it means for scaling.

    python3 Tools/scaling_model.py --resnet50-step S --resnet20-step S [--resnet50-hidden F] ...
    python3 Tools/scaling_model.py --comm-only          # the tables that need no step times
    python3 Tools/scaling_model.py --self-test [--wrong]

Prints markdown (docs/SCALING.md keeps it between its `<!-- scaling_model.py output -->` markers;
`--write-into docs/SCALING.md` replaces what is there). Python 3 standard library only.

The model (docs/SCALING.md derives it):
  ring allreduce of B bytes over N processes, link bandwidth bw, latency lat per hop:
      T(N, B) = 2(N-1)/N * B/bw + 2(N-1) * lat
  (reduce-scatter then allgather, each N-1 steps of B/N bytes; Patarasuk & Yuan 2009, Thakur,
  Rabenseifner & Gropp 2005). The gradients go in buckets of --bucket-mb MiB (as `zoo train
  --bucket-mb`), each its own allreduce: the bandwidth term of the whole gradient plus one latency
  term per bucket. Short collectives (the buffers broadcast before each step, the flags of which
  gradients exist, synchronised batch norm's per-channel sums) are modelled as recursive doubling or
  a binomial tree, ceil(log2 N) * (lat + B/bw), as MPI libraries do for short messages.

  Per step, weak scaling (the per-process batch b fixed; the global batch, `--batch`, is N*b):
      compute   c = the measured single-process step (one process per machine, all its cores)
      budget    = backward fraction (2/3) * c: the gradient allreduces can hide behind it
      exposed   = max(0, allreduce - budget) + short collectives
      images/s  = N*b / (c + exposed);  efficiency = c / (c + exposed)
  and two more efficiencies: at the overlap measured on this machine (a fraction F of the
  allreduce hidden: exposed gradient time max(allreduce - budget, (1-F) * allreduce)), and with
  --sync-bn (its collectives wait behind the queued gradient buckets, so nothing overlaps).

The shared-memory bandwidth and latency of this machine come from two measured allreduces
(`mpi-check --bench`, 2 ranks): T = B/bw + 2 lat for N = 2, two sizes, two unknowns.
"""
import argparse
import math
import os
import sys

FLOAT = 4
DOUBLE = 8
# The gradients travel as double sums (ConvZoo's BatchSums: the processes add them before the one
# rounding to float, so that N processes compute the steps one does): 8 bytes per parameter.
GRADIENT = DOUBLE
MIB = 1 << 20

# Per-model facts (`zoo summary MODEL --json`): parameters, parameter tensors, batch-norm layers
# and their channels. resnet20 at 1x28x28 (Fashion-MNIST, 10 classes), resnet50 at 3x224x224.
MODELS = {
    "resnet50": {"params": 25_557_032, "tensors": 161, "bn_layers": 53, "bn_channels": 26_560, "batch": 16},
    "resnet20": {"params": 269_434, "tensors": 59, "bn_layers": 19, "bn_channels": 688, "batch": 128},
}

# Networks: link rate in Gb/s and the assumed latency per ring step (hop) in microseconds.
DEFAULT_NETWORKS = "10:20,25:20,100:5"
DEFAULT_RANKS = "2,4,8,16,32,64"


# ---- the cost model -------------------------------------------------------------------------

def ring_allreduce(n, nbytes, bw, lat, wrong=False):
    """Seconds for a ring allreduce of nbytes over n processes (0 for one process).

    wrong=True is the self-test's negative control: it drops the allgather half."""
    if n <= 1:
        return 0.0
    steps = (n - 1) if wrong else 2 * (n - 1)
    return steps / n * nbytes / bw + steps * lat


def tree_collective(n, nbytes, bw, lat):
    """Seconds for a short-message collective: ceil(log2 n) rounds of one message each."""
    if n <= 1:
        return 0.0
    return math.ceil(math.log2(n)) * (lat + nbytes / bw)


def bucket_sizes(nbytes, bucket_bytes):
    """The buckets' sizes: full buckets, then the rest (a bucket closes once it reaches the size)."""
    full, rest = divmod(nbytes, bucket_bytes)
    return [bucket_bytes] * int(full) + ([rest] if rest > 0 else [])


def gradient_allreduce(n, nbytes, bucket_bytes, bw, lat, wrong=False):
    """Seconds of the gradient allreduces of one step, one ring allreduce per bucket."""
    return sum(ring_allreduce(n, b, bw, lat, wrong) for b in bucket_sizes(nbytes, bucket_bytes))


def small_collectives(n, model, bw, lat):
    """Seconds per step on the critical path besides the gradients: the broadcast of process 0's
    buffers (running mean and variance, and a step count, per batch norm) before the forward pass,
    and the allreduce of one flag per parameter tensor (which gradients exist) after the backward pass."""
    buffers = (2 * model["bn_channels"] + model["bn_layers"]) * FLOAT
    flags = model["tensors"] * DOUBLE
    return tree_collective(n, buffers, bw, lat) + tree_collective(n, flags, bw, lat)


def sync_bn_collectives(n, model, bw, lat):
    """Seconds per step of synchronised batch norm: per layer of C channels, two allreduces in the
    forward pass (C+1 and C doubles: the sums, then the squared deviations) and one in the backward
    pass (2C doubles)."""
    if n <= 1:
        return 0.0
    layers, channels = model["bn_layers"], model["bn_channels"]
    rounds = math.ceil(math.log2(n))
    return rounds * (3 * layers * lat + (4 * channels + layers) * DOUBLE / bw)


def step_projection(n, model, step, batch, bw, lat, bucket_bytes, backward_fraction, hidden, wrong=False):
    """One row of the projection: n processes, each with `batch` images and a `step`-second step."""
    grad_bytes = model["params"] * GRADIENT
    allreduce = gradient_allreduce(n, grad_bytes, bucket_bytes, bw, lat, wrong)
    small = small_collectives(n, model, bw, lat)
    budget = backward_fraction * step
    exposed = max(0.0, allreduce - budget) + small
    exposed_measured = max(allreduce - budget, (1 - hidden) * allreduce) + small
    exposed_sync_bn = allreduce + small + sync_bn_collectives(n, model, bw, lat)
    single = batch / step
    row = {
        "n": n, "allreduce": allreduce, "small": small, "budget": budget, "exposed": exposed,
        "hidden_from": allreduce / backward_fraction,
        "images": n * batch / (step + exposed),
        "sync_bn": sync_bn_collectives(n, model, bw, lat),
    }
    # images/s over n times the single process's: the same as step / (step + exposed), written so
    # that equal exposed times give equal efficiencies to the last bit.
    row["efficiency"] = step / (step + exposed)
    row["single_images"] = single
    row["efficiency_measured"] = step / (step + exposed_measured)
    row["efficiency_sync_bn"] = step / (step + exposed_sync_bn)
    return row


def fit_two_points(n, bytes1, seconds1, bytes2, seconds2):
    """Bandwidth and latency from two allreduces of different sizes on n processes.

    T = a*B + 2(n-1)*lat with a = 2(n-1)/n / bw: two equations, two unknowns. Returns
    (bw, lat, fitted): when the solution is not physical (latency or bandwidth not positive),
    fitted is False and the fallback is returned instead: the bandwidth of the larger message with
    its latency neglected, and latency 0."""
    factor = 2 * (n - 1) / n
    slope = (seconds1 - seconds2) / (bytes1 - bytes2)
    if slope > 0:
        bw = factor / slope
        lat = (seconds1 - factor * bytes1 / bw) / (2 * (n - 1))
        if lat >= 0:
            return bw, lat, True
    big_bytes, big_seconds = (bytes1, seconds1) if bytes1 > bytes2 else (bytes2, seconds2)
    return factor * big_bytes / big_seconds, 0.0, False


def parse_networks(text):
    networks = []
    for item in text.split(","):
        try:
            rate, latency = item.split(":")
            networks.append((float(rate), float(latency)))
        except ValueError:
            raise SystemExit(f"--networks takes RATE_GBPS:LATENCY_US,..., not '{item}'")
        if networks[-1][0] <= 0 or networks[-1][1] < 0:
            raise SystemExit(f"--networks: a positive rate and a latency of at least 0, not '{item}'")
    return networks


# ---- output -----------------------------------------------------------------------------------

def ms(seconds):
    """Milliseconds with three significant figures or so."""
    value = seconds * 1000
    if value == 0:
        return "0"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def signed(x):
    """A whole number with a true minus sign."""
    return f"{x:.0f}".replace("-", "−")


def percent(x):
    return f"{100 * x:.1f}%"


def command_line(args):
    """The command that reproduces this output."""
    parts = ["python3 Tools/scaling_model.py"]
    if args.comm_only:
        parts.append("--comm-only")
    for name in MODELS:
        step = getattr(args, f"{name}_step")
        if step is not None:
            parts.append(f"--{name}-step {step:g} --{name}-batch {getattr(args, name + '_batch')}")
        hidden = getattr(args, f"{name}_hidden")
        if hidden:
            parts.append(f"--{name}-hidden {hidden:g}")
    defaults = build_parser().parse_args([])
    for flag in ["link_efficiency", "backward_fraction", "bucket_mb", "networks", "ranks",
                 "shm_large_floats", "shm_large_seconds", "shm_small_floats", "shm_small_seconds",
                 "resnet50_params", "resnet20_params"]:
        value = getattr(args, flag)
        if value != getattr(defaults, flag):
            parts.append(f"--{flag.replace('_', '-')} {value:g}" if isinstance(value, float) else f"--{flag.replace('_', '-')} {value}")
    return " ".join(parts)


def report(args):
    out = []
    say = out.append
    models = {name: dict(MODELS[name], params=getattr(args, f"{name}_params"), batch=getattr(args, f"{name}_batch"))
              for name in MODELS}
    networks = parse_networks(args.networks)
    ranks = [int(r) for r in args.ranks.split(",")]
    bucket_bytes = args.bucket_mb * MIB

    say(f"Generated by `{command_line(args)}`.")
    say("")
    # This machine: the shared-memory fit.
    b1, t1 = args.shm_large_floats * FLOAT, args.shm_large_seconds
    b2, t2 = args.shm_small_floats * FLOAT, args.shm_small_seconds
    bw, lat, fitted = fit_two_points(2, b1, t1, b2, t2)
    say("**This machine, 2 processes over shared memory.** Measured allreduces (medians, `mpi-check --bench`): "
        f"{args.shm_large_floats:,.0f} floats ({b1 / 1e6:.1f} MB) in {ms(t1)} ms, "
        f"{args.shm_small_floats:,.0f} floats ({b2 / 1e6:.2f} MB) in {ms(t2)} ms. "
        "For N = 2 the ring formula is T = B/bw + 2·lat; ", )
    slope = (t1 - t2) / (b1 - b2)
    raw_bw = 1 / slope if slope > 0 else float("inf")
    raw_lat = (t1 - b1 * slope) / 2
    if fitted:
        out[-1] += f"solved for both points: bw = {bw / 1e9:.2f} GB/s, lat = {lat * 1e6:.1f} µs."
    else:
        out[-1] += (f"solved for both points it gives bw = {raw_bw / 1e9:.2f} GB/s and lat = {signed(raw_lat * 1e6)} µs, "
                    f"a negative latency: the small buffer moves at {b2 / t2 / 1e9:.2f} GB/s, the large one at "
                    f"{b1 / t1 / 1e9:.2f} GB/s (the small one stays in the caches), so no line through both has a "
                    f"positive intercept. The latency is below what these two points resolve (at most "
                    f"T_small/2 = {ms(t2 / 2)} ms); the bandwidth of the large message, {bw / 1e9:.2f} GB/s, is "
                    f"the one that matters for resnet50's gradients.")
    say("")
    header = "| model | gradients | buckets of " + f"{args.bucket_mb:g} MiB | allreduce per step, 2 processes (from the nearest measured size) |"
    rows = [header, "| --- | ---: | ---: | ---: |"]
    for name, model in models.items():
        grad = model["params"] * GRADIENT
        near_bytes, near_seconds = min([(b1, t1), (b2, t2)], key=lambda p: abs(math.log(p[0] / grad)))
        rows.append(f"| {name} | {grad / 1e6:.2f} MB | {len(bucket_sizes(grad, bucket_bytes))} | "
                    f"{ms(near_seconds * grad / near_bytes)} ms |")
    if not args.comm_only:
        rows[0] += " single-process step | allreduce / step |"
        rows[1] += " ---: | ---: |"
        for i, (name, model) in enumerate(models.items()):
            grad = model["params"] * GRADIENT
            near_bytes, near_seconds = min([(b1, t1), (b2, t2)], key=lambda p: abs(math.log(p[0] / grad)))
            step = getattr(args, f"{name}_step")
            rows[2 + i] += f" {ms(step)} ms (batch {model['batch']}) | {percent(near_seconds * grad / near_bytes / step)} |"
    out += rows
    say("")
    say("**Networks** (one process per machine): bandwidth = link rate / 8 × "
        f"{args.link_efficiency:g}; latency per ring step as assumed: " +
        "; ".join(f"{rate:g} Gb/s: {rate / 8 * args.link_efficiency:.2f} GB/s, {latency:g} µs" for rate, latency in networks) +
        f". Overlap budget: the backward pass, {args.backward_fraction:.3g} of the step.")
    say("")
    for name, model in models.items():
        grad = model["params"] * GRADIENT
        step = None if args.comm_only else getattr(args, f"{name}_step")
        hidden = getattr(args, f"{name}_hidden")
        buckets = len(bucket_sizes(grad, bucket_bytes))
        title = (f"**{name}**, {model['params']:,} parameters ({grad / 1e6:.2f} MB of gradients, "
                 f"{buckets} bucket{'' if buckets == 1 else 's'}), {model['batch']} images per process "
                 f"(`--batch` {model['batch']}·N)")
        if step is not None:
            title += f", single-process step {ms(step)} ms ({model['batch'] / step:.1f} images/s)"
        say(title + ":")
        say("")
        head = "| network | N | allreduce ms | hidden while step ≥ ms | short collectives ms | --sync-bn adds ms |"
        rule = "| --- | ---: | ---: | ---: | ---: | ---: |"
        if step is not None:
            head += f" exposed ms | images/s | efficiency | efficiency, {percent(hidden)} hidden | efficiency, --sync-bn |"
            rule += " ---: | ---: | ---: | ---: | ---: |"
        say(head)
        say(rule)
        for rate, latency in networks:
            bw = rate / 8 * 1e9 * args.link_efficiency
            for n in ranks:
                row = step_projection(n, model, step or 1.0, model["batch"], bw, latency * 1e-6, bucket_bytes,
                                      args.backward_fraction, hidden)
                line = (f"| {rate:g} Gb/s | {n} | {ms(row['allreduce'])} | {ms(row['hidden_from'])} | "
                        f"{ms(row['small'])} | {ms(row['sync_bn'])} |")
                if step is not None:
                    line += (f" {ms(row['exposed'])} | {row['images']:,.1f} | {percent(row['efficiency'])} | "
                             f"{percent(row['efficiency_measured'])} | {percent(row['efficiency_sync_bn'])} |")
                say(line)
        say("")
    return "\n".join(out).rstrip() + "\n"


MARK_BEGIN = "<!-- scaling_model.py output -->"
MARK_END = "<!-- end of scaling_model.py output -->"


def write_into(path, text):
    with open(path, encoding="utf-8") as f:
        document = f.read()
    start, end = document.find(MARK_BEGIN), document.find(MARK_END)
    if start < 0 or end < start:
        raise SystemExit(f"{path} has no '{MARK_BEGIN}' … '{MARK_END}' markers")
    document = document[:start + len(MARK_BEGIN)] + "\n" + text + document[end:]
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        f.write(document)
    os.replace(temporary, path)


# ---- self-test --------------------------------------------------------------------------------

def self_test(wrong):
    """Checks the model against cases worked out by hand. Returns the failures (empty: passed)."""
    failures = []

    def check(name, ok):
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
        if not ok:
            failures.append(name)

    def close(a, b, tolerance=1e-9):
        return abs(a - b) <= tolerance * max(1.0, abs(a), abs(b))

    ring = lambda n, b, bw, lat: ring_allreduce(n, b, bw, lat, wrong)
    grads = lambda n, b, bucket, bw, lat: gradient_allreduce(n, b, bucket, bw, lat, wrong)

    # One process communicates nothing.
    check("N = 1: no communication", ring(1, 1e8, 1e9, 1e-5) == 0 and grads(1, 1e8, 25 * MIB, 1e9, 1e-5) == 0
          and tree_collective(1, 1e6, 1e9, 1e-5) == 0 and sync_bn_collectives(1, MODELS["resnet50"], 1e9, 1e-5) == 0)
    row = step_projection(1, MODELS["resnet50"], 0.5, 16, 1e9, 2e-5, 25 * MIB, 2 / 3, 0.3, wrong)
    check("N = 1: efficiency 1 and the single-process images/s", row["efficiency"] == 1 and row["images"] == 32
          and row["efficiency_measured"] == 1 and row["efficiency_sync_bn"] == 1)
    # Bandwidth only (lat = 0): 2(N-1)/N * B/bw, by hand.
    check("bandwidth only: N = 4, 100 MB at 1 GB/s takes 150 ms", close(ring(4, 100e6, 1e9, 0), 0.150))
    check("bandwidth only: N = 2 takes B/bw", close(ring(2, 64e6, 2e9, 0), 0.032))
    check("bandwidth only: large N tends to 2B/bw", close(ring(10 ** 6, 100e6, 1e9, 0) / 0.2, 1, 1e-5))
    # Latency only (B = 0): 2(N-1) hops.
    check("latency only: N = 8 at 10 µs takes 140 µs", close(ring(8, 0, 1e9, 1e-5), 140e-6))
    # Buckets: 100 MiB in 25 MiB buckets = four allreduces: one bandwidth term, four latency terms.
    check("buckets: 100 MiB in 4 buckets of 25 MiB, N = 4, 1 GB/s, 10 µs",
          close(grads(4, 100 * MIB, 25 * MIB, 1e9, 1e-5), 1.5 * 100 * MIB / 1e9 + 4 * 6 * 1e-5))
    check("buckets: resnet50's 102.2 MB make 4 buckets, resnet20's 1.08 MB one",
          len(bucket_sizes(MODELS["resnet50"]["params"] * 4, 25 * MIB)) == 4
          and len(bucket_sizes(MODELS["resnet20"]["params"] * 4, 25 * MIB)) == 1)
    # The two-point fit recovers a known bandwidth and latency...
    bw, lat = 3e9, 7e-6
    t = lambda b: ring(2, b, bw, lat)
    fbw, flat, fitted = fit_two_points(2, 100e6, t(100e6), 1e6, t(1e6))
    check("fit: recovers 3 GB/s and 7 µs from two synthetic points", fitted and close(fbw, bw, 1e-6) and close(flat, lat, 1e-6))
    # ...and on this machine's measurements finds no physical solution and falls back.
    fbw, flat, fitted = fit_two_points(2, 25.6e6 * 4, 0.086, 270e3 * 4, 0.21e-3)
    check("fit: this machine's points give a negative latency; fallback bw = B/T of the large one, lat = 0",
          not fitted and flat == 0 and close(fbw, 25.6e6 * 4 / 0.086))
    # A row worked out by hand: resnet50, 2 processes, 10 Gb/s at 0.8 (1 GB/s), 20 µs, step 1 s.
    # Gradients as doubles, 204,456,256 B in 8 buckets: 0.204456256 + 8*2*20e-6 = 0.204776256 s, hidden (< 2/3 s).
    # Small: buffers (2*26560 + 53)*4 = 212,692 B, flags 161*8 = 1,288 B, one round each:
    # 20e-6 + 212,692e-9 + 20e-6 + 1,288e-9 = 253.98e-6 s. Efficiency 1/1.00025398.
    row = step_projection(2, MODELS["resnet50"], 1.0, 16, 1e9, 20e-6, 25 * MIB, 2 / 3, 0.0, wrong)
    check("hand-worked row: resnet50, N = 2, 10 Gb/s, step 1 s",
          close(row["allreduce"], 0.204776256) and close(row["small"], 253.98e-6)
          and close(row["efficiency"], 1 / 1.00025398) and close(row["images"], 32 / 1.00025398)
          and close(row["efficiency_measured"], 1 / (1 + 0.204776256 + 253.98e-6)))
    # Over a grid: efficiencies in (0, 1], ordered, communication nondecreasing and efficiency
    # nonincreasing in N.
    grid_ok, monotone_ok, order_ok, definition_ok = True, True, True, True
    for model in MODELS.values():
        for step in (0.01, 0.1, 1.0, 10.0):
            for rate, latency in parse_networks(DEFAULT_NETWORKS + ",1:100,400:1"):
                for hidden in (0.0, 0.5, 1.0):
                    previous = None
                    for n in (1, 2, 3, 4, 8, 16, 32, 64, 128, 1000):
                        r = step_projection(n, model, step, model["batch"], rate / 8 * 0.8e9, latency * 1e-6,
                                            25 * MIB, 2 / 3, hidden, wrong)
                        for key in ("efficiency", "efficiency_measured", "efficiency_sync_bn"):
                            grid_ok &= 0 < r[key] <= 1
                        order_ok &= r["efficiency_sync_bn"] <= r["efficiency_measured"] <= r["efficiency"]
                        definition_ok &= close(r["efficiency"], r["images"] / (n * r["single_images"]), 1e-12)
                        if previous:
                            monotone_ok &= r["allreduce"] >= previous["allreduce"] and r["efficiency"] <= previous["efficiency"]
                            monotone_ok &= r["efficiency_sync_bn"] <= previous["efficiency_sync_bn"]
                        previous = r
    check("grid: every efficiency in (0, 1]", grid_ok)
    check("grid: efficiency = images/s / (N × single-process images/s)", definition_ok)
    check("grid: --sync-bn ≤ measured overlap ≤ full overlap", order_ok)
    check("grid: allreduce nondecreasing and efficiency nonincreasing in N", monotone_ok)
    # Fully hidden gradients leave only the short collectives; full measured overlap equals the budget model.
    r = step_projection(8, MODELS["resnet20"], 1.0, 128, 1e9, 1e-5, 25 * MIB, 2 / 3, 1.0, wrong)
    check("a hidden allreduce exposes only the short collectives; F = 1 equals the budget model",
          r["allreduce"] < r["budget"] and close(r["exposed"], r["small"]) and close(r["efficiency_measured"], r["efficiency"]))
    return failures


# ---- command line -----------------------------------------------------------------------------

def build_parser():
    p = argparse.ArgumentParser(description="Ring-allreduce cost model and scaling projections for ConvZoo's data-parallel training.")
    p.add_argument("--resnet50-step", type=float, help="measured single-process training step of resnet50, seconds (required)")
    p.add_argument("--resnet50-batch", type=int, default=16, help="images per process for resnet50 (default 16)")
    p.add_argument("--resnet50-hidden", type=float, default=0.0, help="fraction of resnet50's allreduce hidden by the overlap, measured (default 0)")
    p.add_argument("--resnet50-params", type=int, default=MODELS["resnet50"]["params"], help="parameters of resnet50 (default: zoo summary's)")
    p.add_argument("--resnet20-step", type=float, help="measured single-process training step of resnet20, seconds (required)")
    p.add_argument("--resnet20-batch", type=int, default=128, help="images per process for resnet20 (default 128)")
    p.add_argument("--resnet20-hidden", type=float, default=0.0, help="fraction of resnet20's allreduce hidden by the overlap, measured (default 0)")
    p.add_argument("--resnet20-params", type=int, default=MODELS["resnet20"]["params"], help="parameters of resnet20 at 1x28x28 (default: zoo summary's)")
    p.add_argument("--shm-large-floats", type=float, default=25.6e6, help="floats of the large measured allreduce (2 ranks, this machine)")
    p.add_argument("--shm-large-seconds", type=float, default=0.086, help="its median time, seconds")
    p.add_argument("--shm-small-floats", type=float, default=270e3, help="floats of the small measured allreduce")
    p.add_argument("--shm-small-seconds", type=float, default=0.21e-3, help="its median time, seconds")
    p.add_argument("--networks", default=DEFAULT_NETWORKS, help=f"RATE_GBPS:LATENCY_US per network (default {DEFAULT_NETWORKS})")
    p.add_argument("--link-efficiency", type=float, default=0.8, help="share of the link rate an allreduce reaches (default 0.8)")
    p.add_argument("--ranks", default=DEFAULT_RANKS, help=f"process (machine) counts (default {DEFAULT_RANKS})")
    p.add_argument("--backward-fraction", type=float, default=2 / 3, help="share of the step that is the backward pass (default 2/3)")
    p.add_argument("--bucket-mb", type=float, default=25.0, help="gradient bucket size in MiB, as zoo train --bucket-mb (default 25)")
    p.add_argument("--comm-only", action="store_true", help="only the tables that need no step times")
    p.add_argument("--write-into", metavar="FILE", help="replace the text between FILE's scaling_model.py markers with the output")
    p.add_argument("--self-test", action="store_true", help="check the model on cases worked out by hand; exit 1 on a failure")
    p.add_argument("--wrong", action="store_true", help="with --self-test: a broken ring formula, which the self-test must reject")
    return p


def main():
    args = build_parser().parse_args()
    if args.self_test:
        print("self-test" + (" (negative control: a wrong ring formula)" if args.wrong else ""))
        failures = self_test(args.wrong)
        print(f"{len(failures)} failure(s)" if failures else "all checks passed")
        sys.exit(1 if failures else 0)
    if args.wrong:
        raise SystemExit("--wrong goes with --self-test")
    for name in MODELS:
        step = getattr(args, f"{name}_step")
        if step is None and not args.comm_only:
            raise SystemExit(f"--{name}-step is required (seconds per training step, measured), or --comm-only")
        if step is not None and not step > 0:
            raise SystemExit(f"--{name}-step must be positive, got {step}")
        if getattr(args, f"{name}_batch") < 1:
            raise SystemExit(f"--{name}-batch must be at least 1")
        if not 0 <= getattr(args, f"{name}_hidden") <= 1:
            raise SystemExit(f"--{name}-hidden is a fraction in [0, 1]")
        if getattr(args, f"{name}_params") < 1:
            raise SystemExit(f"--{name}-params must be at least 1")
    if not 0 < args.link_efficiency <= 1:
        raise SystemExit("--link-efficiency is a fraction in (0, 1]")
    if not 0 < args.backward_fraction < 1:
        raise SystemExit("--backward-fraction is a fraction in (0, 1)")
    if not args.bucket_mb > 0:
        raise SystemExit("--bucket-mb must be positive")
    if min(args.shm_large_floats, args.shm_large_seconds, args.shm_small_floats, args.shm_small_seconds) <= 0 \
            or args.shm_large_floats == args.shm_small_floats:
        raise SystemExit("the two shared-memory measurements need positive, different sizes and positive times")
    try:
        if any(int(r) < 1 for r in args.ranks.split(",")):
            raise ValueError
    except ValueError:
        raise SystemExit(f"--ranks takes process counts of at least 1, like {DEFAULT_RANKS}")
    text = report(args)
    if args.write_into:
        write_into(args.write_into, text)
        print(f"wrote the tables into {args.write_into}")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
