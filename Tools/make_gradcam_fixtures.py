#!/usr/bin/env python3
"""Write PyTorch Grad-CAM references for `zoo explain`, and check ConvZoo's maps against them.

    /usr/bin/python3 Tools/make_gradcam_fixtures.py --out /tmp/convzoo-gradcam [--models resnet18 ...] [--cross-check]
    /usr/bin/python3 Tools/make_gradcam_fixtures.py --check /tmp/convzoo-gradcam [--models resnet18 ...]
    Tools/gradcam-parity runs both around `zoo explain`.

Fixture mode (--out DIR), per model:
  1. The model exactly as Tools/make_parity_fixtures.py makes it for parity (its build_model and randomize,
     torch.manual_seed(seed), default seed 7), eval mode. DIR/<model>/weights.safetensors: the state_dict with
     the same metadata as parity's ({"format": "pt", "model": NAME, "seed": "S"}; no ConvZoo "architecture" key,
     so googlenet runs with transform_input off in ConvZoo, as build_model builds it).
  2. DIR/<model>/input.safetensors: "input" = randn [2, 3, 224, 224] from torch.Generator().manual_seed(seed),
     the second item shifted by -1 (so that two of the models pick different top-1 classes for the two items;
     with these random weights resnet18 and googlenet pick the same class for any input).
  3. One forward pass with a forward hook on every target layer (A = the layer's output, logits = model(x)),
     then for each target mode -- "top1" (each item's own argmax) and "class<C>" (one fixed class C for both
     items, the first of 7, 8, ... that is neither item's top-1 and gives a non-zero map everywhere) --
     g = d(sum_n logits[n, c_n]) / dA, and
        w[n, k]    = mean over (i, j) of g[n, k, i, j]
        cam_raw[n] = relu(sum_k w[n, k] * A[n, k])                                      [N, h, w]
        cam[n]     = (cam_raw[n] - min) / (max - min + 1e-7), per image, then
                     F.interpolate(bilinear, align_corners=False) to the input's H x W  [N, H, W]
     (the gradients in float32 as PyTorch computes them; the weighted sum, normalisation and resize in float64,
     stored as float32). DIR/<model>/<layer>.<mode>.safetensors holds "cam_raw" and "cam".
  4. DIR/<model>/cases.json (model, seed, fixed class, top-1 classes and their margins, the cases) and
     DIR/<model>/cases.tsv, one case a line: layer, mode, --class argument ("-" for top-1), reference, ConvZoo's output.
  --cross-check: also runs pytorch-grad-cam's GradCAM (PyPI grad-cam), when importable, and prints how far its
  unnormalised map and its final map are from the reference (its final map differs by up to ~0.02: it scales
  the resized map to [0, 1] once more, where the map here is normalised before the resize only).

Check mode (--check DIR): for every case, DIR/<model>/<layer>.<mode>.zoo.safetensors (ConvZoo's) against the
reference: passes when max|d cam_raw| <= 1e-4 * max(cam_raw_ref) and max|d cam| <= 1e-3. Negative controls, which
must miss by more than 10x those bounds (else the comparison could not have failed): per model, ConvZoo's top-1
maps against the fixed class's reference; for resnet18, ConvZoo's layer4 cam against the layer3 reference.
Prints one line per comparison and "gradcam-parity: N passed, M failed" last; exit 1 on any failure.
"""
import argparse
import json
import os
import sys
import time
from collections import OrderedDict

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_parity_fixtures import build_model, randomize, read_safetensors, write_safetensors  # noqa: E402

# model -> [(layer, expected map side at 224x224)]; the first layer is the one the negative controls use.
CASES = OrderedDict([
    ("resnet18", [("layer4", 7), ("layer3", 14)]),
    ("vgg16", [("features.30", 7)]),            # the last max pool
    ("densenet121", [("features.denseblock4", 7)]),
    ("googlenet", [("inception5b", 7)]),
])
BATCH, INPUT, CLASSES = 2, (3, 224, 224), 1000
FIRST_FIXED_CLASS = 7
RAW_REL_TOL, CAM_TOL, CONTROL_FACTOR = 1e-4, 1e-3, 10.0


def grad_cam(activation, grad, size):
    """cam_raw [N, h, w] and cam [N, H, W] (float64) from A and dlogit/dA [N, K, h, w]."""
    a, g = activation.double(), grad.double()
    weights = g.mean(dim=(2, 3))                                      # [N, K]
    raw = torch.relu((weights[:, :, None, None] * a).sum(dim=1))      # [N, h, w]
    flat = raw.flatten(1)
    lo, hi = flat.min(dim=1).values, flat.max(dim=1).values
    norm = (raw - lo[:, None, None]) / (hi - lo + 1e-7)[:, None, None]
    cam = F.interpolate(norm[:, None], size=size, mode="bilinear", align_corners=False)[:, 0]
    return raw, cam


def model_dir(root, model):
    return os.path.join(root, model)


def make_model_fixtures(model_name, root, seed, cross_check):
    start = time.time()
    torch.manual_seed(seed)
    model = build_model(model_name, INPUT[0], INPUT[1:], CLASSES)
    randomize(model)
    model.eval()
    out = model_dir(root, model_name)
    os.makedirs(out, exist_ok=True)
    state = model.state_dict()
    meta = {"format": "pt", "model": model_name, "seed": str(seed)}
    write_safetensors(os.path.join(out, "weights.safetensors"), state, meta)
    x = torch.randn(BATCH, *INPUT, generator=torch.Generator().manual_seed(seed))
    x[1] -= 1  # a darker second image: vgg16 and densenet121 then pick another top-1 for it than for the first
    write_safetensors(os.path.join(out, "input.safetensors"), OrderedDict(input=x))

    layers = [name for name, _ in CASES[model_name]]
    captured, versions = OrderedDict(), {}

    def hook_for(name):
        def hook(_module, _inputs, output):
            if not torch.is_tensor(output):
                raise SystemExit(f"{model_name}.{name}: the layer's output is a {type(output).__name__}, not a tensor")
            captured[name] = output
            versions[name] = output._version
        return hook

    handles = [model.get_submodule(name).register_forward_hook(hook_for(name)) for name in layers]
    with torch.enable_grad():
        logits = model(x)
    for h in handles:
        h.remove()
    for name in layers:
        if captured[name]._version != versions[name]:
            raise SystemExit(f"{model_name}.{name}: the layer's output was changed in place after the hook ran")

    # The top-1 classes, and how far ahead of the runner-up they are (a near tie could flip in ConvZoo).
    top2 = logits.detach().topk(2, dim=1)
    top1 = top2.indices[:, 0]
    margins = (top2.values[:, 0] - top2.values[:, 1]).tolist()
    scale = logits.detach().abs().max().item()

    def maps(classes):
        target = logits.gather(1, classes[:, None]).sum()
        grads = torch.autograd.grad(target, [captured[name] for name in layers], retain_graph=True)
        return OrderedDict((name, grad_cam(captured[name].detach(), g, INPUT[1:]))
                           for name, g in zip(layers, grads))

    def nonzero_everywhere(result):
        return all(bool((raw.flatten(1).max(dim=1).values > 0).all()) for raw, _ in result.values())

    results = OrderedDict(top1=(top1, "", maps(top1)))
    if not nonzero_everywhere(results["top1"][2]):
        raise SystemExit(f"{model_name}: a top-1 map is zero everywhere (every position negative); "
                         f"pick another seed")
    fixed = FIRST_FIXED_CLASS
    while True:
        if fixed >= CLASSES:
            raise SystemExit(f"{model_name}: no class >= {FIRST_FIXED_CLASS} gives non-zero maps for every item")
        if fixed not in top1.tolist():
            classes = torch.full((BATCH,), fixed, dtype=torch.long)
            candidate = maps(classes)
            if nonzero_everywhere(candidate):
                break
        fixed += 1
    results[f"class{fixed}"] = (classes, str(fixed), candidate)

    cases = []
    for mode, (classes, class_arg, per_layer) in results.items():
        for (name, side), (raw, cam) in zip(CASES[model_name], per_layer.values()):
            if tuple(raw.shape) != (BATCH, side, side) or tuple(cam.shape) != (BATCH, *INPUT[1:]):
                raise SystemExit(f"{model_name}.{name}: cam_raw {list(raw.shape)}, cam {list(cam.shape)}; "
                                 f"expected [{BATCH}, {side}, {side}] and [{BATCH}, {INPUT[1]}, {INPUT[2]}]")
            ref = os.path.join(out, f"{name}.{mode}.safetensors")
            tensors = OrderedDict(cam_raw=raw.float(), cam=cam.float())
            write_safetensors(ref, tensors, {"model": model_name, "layer": name, "classes": str(classes.tolist())})
            back, _ = read_safetensors(ref)
            if not all(torch.equal(back[k], tensors[k]) for k in tensors):
                raise SystemExit(f"read-back of {ref} differs")
            positive = (raw > 0).double().mean().item()
            print(f"  {model_name} {name} {mode}: classes {classes.tolist()}, cam_raw {list(raw.shape)} "
                  f"max {raw.max().item():.4g}, {100 * positive:.0f}% positive; cam [{cam.min().item():.3g}, "
                  f"{cam.max().item():.3g}]")
            cases.append(OrderedDict(layer=name, mode=mode, class_arg=class_arg, classes=classes.tolist(),
                                     reference=os.path.basename(ref),
                                     output=f"{name}.{mode}.zoo.safetensors"))

    if cross_check:
        cross_check_grad_cam(model, model_name, x, results)

    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(OrderedDict(model=model_name, seed=seed, fixed_class=fixed, top1=top1.tolist(),
                              top1_margins=margins, max_abs_logit=scale, cases=cases), f, indent=1)
    with open(os.path.join(out, "cases.tsv"), "w") as f:
        for c in cases:
            f.write(f"{c['layer']}\t{c['mode']}\t{c['class_arg'] or '-'}\t{c['reference']}\t{c['output']}\n")
    # ConvZoo's logits are within parity's 1e-4 * max(1, max|logit|) of PyTorch's; a lead of twice that keeps the argmax.
    close = [m for m in margins if m <= 2e-4 * max(1.0, scale)]
    note = " (WARNING: a top-1 lead within twice parity's tolerance; ConvZoo may pick another class)" if close else ""
    print(f"{model_name}: top-1 {top1.tolist()} (leads {', '.join(f'{m:.3g}' for m in margins)}; max|logit| "
          f"{scale:.4g}){note}, fixed class {fixed}, {len(cases)} cases ({time.time() - start:.1f}s) -> {out}")


def cross_check_grad_cam(model, model_name, x, results):
    """pytorch-grad-cam's GradCAM on the same model, input and classes: its unnormalised map (relu of its
    weighted sum) against cam_raw, and its final map (min-max, cv2.resize) against cam."""
    try:
        from pytorch_grad_cam import GradCAM
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    except Exception as e:  # not installed, or cv2/sklearn missing
        print(f"  {model_name}: pytorch-grad-cam not importable ({type(e).__name__}: {e}); cross-check skipped")
        return
    for mode, (classes, _, per_layer) in results.items():
        for name, (raw, cam) in per_layer.items():
            layer = model.get_submodule(name)
            explainer = GradCAM(model=model, target_layers=[layer])
            try:
                targets = [ClassifierOutputTarget(int(c)) for c in classes]
                final = torch.from_numpy(explainer(input_tensor=x.clone(), targets=targets)).double()
                acts = explainer.activations_and_grads.activations[0].detach().cpu().numpy()
                grads = explainer.activations_and_grads.gradients[0].detach().cpu().numpy()
                theirs = torch.from_numpy(explainer.get_cam_image(x, layer, targets, acts, grads)).double().clamp(min=0)
            finally:
                explainer.activations_and_grads.release()
            d_raw = (theirs - raw).abs().max().item()
            d_cam = (final - cam).abs().max().item()
            print(f"  cross-check pytorch-grad-cam {model_name} {name} {mode}: max|d cam_raw| {d_raw:.3g} "
                  f"(max cam_raw {raw.max().item():.4g}, relative {d_raw / raw.max().item():.3g}), "
                  f"max|d cam| {d_cam:.3g} (it normalises again after resizing)")


def check(root, models):
    passed = failed = 0

    def report(ok, text):
        nonlocal passed, failed
        passed += ok
        failed += not ok
        print(f"gradcam-parity {text}: {'ok' if ok else 'FAILED'}")

    def load(path, what):
        if not os.path.exists(path):
            return None, f"{what} {os.path.basename(path)} is missing"
        try:
            tensors, _ = read_safetensors(path)
        except Exception as e:
            return None, f"{what} {os.path.basename(path)} unreadable: {e}"
        for key in ("cam_raw", "cam"):
            if key not in tensors:
                return None, f"{what} {os.path.basename(path)} has no '{key}'"
            if tensors[key].dtype != torch.float32:
                return None, f"{what} {os.path.basename(path)} '{key}' is {tensors[key].dtype}, not float32"
            if not torch.isfinite(tensors[key]).all():
                return None, f"{what} {os.path.basename(path)} '{key}' is not finite"
        return {k: tensors[k].double() for k in ("cam_raw", "cam")}, None

    def compare(ours, ref, keys=("cam_raw", "cam")):
        """(max|d cam_raw| or None, its bound, max|d cam| or None); None when the shapes differ."""
        d = {}
        for key in keys:
            d[key] = (ours[key] - ref[key]).abs().max().item() if ours[key].shape == ref[key].shape else None
        bound = RAW_REL_TOL * ref["cam_raw"].max().item()
        return d.get("cam_raw"), bound, d.get("cam")

    def fmt(v):
        return "shape differs" if v is None else f"{v:.3g}"

    for model in models:
        path = os.path.join(model_dir(root, model), "cases.json")
        if not os.path.exists(path):
            report(False, f"{model}: {path} is missing (fixtures not written)")
            continue
        with open(path) as f:
            spec = json.load(f)
        zoo, refs = {}, {}
        for case in spec["cases"]:
            key = (case["layer"], case["mode"])
            ref, err = load(os.path.join(model_dir(root, model), case["reference"]), "reference")
            refs[key] = ref
            if err:
                report(False, f"{model} {case['layer']} {case['mode']}: {err}")
                continue
            ours, err = load(os.path.join(model_dir(root, model), case["output"]), "ConvZoo's")
            zoo[key] = ours
            if err:
                report(False, f"{model} {case['layer']} {case['mode']}: {err}")
                continue
            if ours["cam_raw"].shape != ref["cam_raw"].shape or ours["cam"].shape != ref["cam"].shape:
                report(False, f"{model} {case['layer']} {case['mode']}: ConvZoo's cam_raw {list(ours['cam_raw'].shape)}, "
                              f"cam {list(ours['cam'].shape)}; reference {list(ref['cam_raw'].shape)}, "
                              f"{list(ref['cam'].shape)}")
                continue
            d_raw, bound, d_cam = compare(ours, ref)
            report(d_raw <= bound and d_cam <= CAM_TOL,
                   f"{model} {case['layer']} {case['mode']}: max|Δcam_raw| {d_raw:.3g} (bound {bound:.3g}), "
                   f"max|Δcam| {d_cam:.3g} (bound {CAM_TOL:g})")

        # Negative controls: ConvZoo's map for another target or layer must miss the reference by > 10x the bounds.
        first = CASES[model][0][0]
        fixed = f"class{spec['fixed_class']}"
        controls = [((first, "top1"), (first, fixed), ("cam_raw", "cam"))]
        if model == "resnet18":
            controls.append((("layer4", "top1"), ("layer3", "top1"), ("cam",)))
        for (ol, om), (rl, rm), keys in controls:
            label = f"{model} {ol} {om} vs {rl} {rm} reference (negative control)"
            ours, ref = zoo.get((ol, om)), refs.get((rl, rm))
            if ours is None or ref is None:
                report(False, f"{label}: {'ConvZoo output' if ours is None else 'reference'} missing or unreadable")
                continue
            d_raw, bound, d_cam = compare(ours, ref, keys)
            misses = [("cam_raw" not in keys) or (d_raw is not None and d_raw > CONTROL_FACTOR * bound),
                      d_cam is not None and d_cam > CONTROL_FACTOR * CAM_TOL]
            text = f"max|Δcam| {fmt(d_cam)} (must exceed {CONTROL_FACTOR * CAM_TOL:g})"
            if "cam_raw" in keys:
                text = f"max|Δcam_raw| {fmt(d_raw)} (must exceed {CONTROL_FACTOR * bound:.3g}), " + text
            report(all(misses), f"{label}: {text}")

    print(f"gradcam-parity: {passed} passed, {failed} failed")
    return failed == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--out", help="fixture directory to write")
    ap.add_argument("--check", metavar="DIR", help="compare ConvZoo's *.zoo.safetensors in DIR with the references")
    ap.add_argument("--models", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cross-check", action="store_true", help="also compare with pytorch-grad-cam when importable")
    args = ap.parse_args()
    if bool(args.out) == bool(args.check):
        ap.error("give exactly one of --out and --check")
    torch.set_num_threads(2)
    if args.check:
        sys.exit(0 if check(args.check, args.models) else 1)
    start = time.time()
    for model in args.models:
        make_model_fixtures(model, args.out, args.seed, args.cross_check)
    print(f"gradcam fixtures: {len(args.models)} models in {time.time() - start:.1f}s -> {args.out}")


if __name__ == "__main__":
    main()
