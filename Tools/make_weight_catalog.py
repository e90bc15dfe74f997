#!/usr/bin/env python3
"""Write the catalogue of published pretrained weights for the registry's models, read from the
metadata of the installed reference packages (torchvision, timm, pretrainedmodels); no number in it
is typed by hand.

    /tmp/convzoo-venv/bin/python Tools/make_weight_catalog.py            # writes Models/Registry/PublishedWeightsCatalog.swift
    /tmp/convzoo-venv/bin/python Tools/make_weight_catalog.py --json     # prints the catalogue's JSON array
    /tmp/convzoo-venv/bin/python Tools/make_weight_catalog.py --check    # compares the committed file with the references

The venv has Debian's torch and torchvision (0.14) among its system site packages, and pip's timm
1.0.31 and pretrainedmodels 0.7.4. When a reference package cannot be imported the script says which
on one line of stderr and exits with status 2 ("references not installed"); --check exits 1 when the
committed catalogue differs from the references, listing each difference on a line of its own.

One entry per published weight file of a registry model, sorted by model then tag:
  torchvision       every member of the builder's weight enum (get_model_weights(name));
  timm              every pretrained tag timm lists for exactly the architecture, with a 1000-class head;
  pretrainedmodels  every pretrained setting of the model with 1000 classes.
Preprocessing is read from each reference's own eval transform objects (torchvision's
weights.transforms(), timm's create_transform, pretrainedmodels' TransformImage), not recomputed.
Nothing is downloaded: timm models are built with pretrained=False, torchvision builders with the
weight download patched out, and HF_HUB_OFFLINE=1 is set before timm is imported.
"""
import argparse
import importlib
import importlib.metadata
import json
import math
import os
import pathlib
import re
import struct
import sys
import tempfile
import warnings
from unittest import mock

os.environ["HF_HUB_OFFLINE"] = "1"  # before timm imports huggingface_hub

ROOT = pathlib.Path(__file__).resolve().parent.parent
CATALOG = ROOT / "Models/Registry/PublishedWeightsCatalog.swift"

# Which reference publishes the weights of which registry model. torchvision: the registry name is the
# builder's name. timm and pretrainedmodels: registry name -> the reference's architecture name.
TORCHVISION = [
    "alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
    "googlenet", "inception_v3", "squeezenet1_0", "squeezenet1_1", "mobilenet_v2",
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "resnext50_32x4d", "resnext101_32x8d", "wide_resnet50_2", "wide_resnet101_2",
    "densenet121", "densenet161", "densenet169", "densenet201",
]
TIMM = {
    **{f"resnetv2_{depth}": f"resnetv2_{depth}" for depth in (18, 34, 50, 101, 152)},
    **{f"seresnet{depth}": f"seresnet{depth}" for depth in (18, 34, 50, 101, 152)},
    "mobilenet_v1": "mobilenetv1_100",
    "xception": "legacy_xception",
    "inception_resnet_v2": "inception_resnet_v2",
    "nasnetalarge": "nasnetalarge",
}
PRETRAINEDMODELS = {"nasnetamobile": "nasnetamobile"}

# torchvision builders that set transform_input when given published weights; the others have no such flag.
TORCHVISION_TRANSFORM_INPUT = {"googlenet", "inception_v3"}

IMAGENET_CLASSES = 1000
FIELDS = {"model", "tag", "default", "source", "reference", "url", "sha256", "bytes", "top1", "top5", "parameters",
          "classes", "labels", "preprocessing", "transform_input", "license", "paper", "recipe", "note"}
REFERENCE_PACKAGES = ["torch", "torchvision", "timm", "pretrainedmodels"]
torch = torchvision = timm = pretrainedmodels = None  # set by import_references()


def import_references():
    """Imports the reference packages into this module's globals, or exits with status 2 naming the missing ones."""
    missing = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in REFERENCE_PACKAGES + ["pretrainedmodels.utils", "timm.data", "torchvision.models"]:
            package = name.split(".")[0]
            if package in missing:
                continue
            try:
                module = importlib.import_module(name)
            except Exception:  # an ImportError, or a package too broken to import
                missing.append(package)
                continue
            if "." not in name:
                globals()[name] = module
    if missing:
        print(f"make_weight_catalog.py: reference package{'s' if len(missing) > 1 else ''} not installed: "
              f"{', '.join(missing)} ({sys.executable})", file=sys.stderr)
        sys.exit(2)


def versions():
    return {name: sys.modules[name].__version__ for name in ("torchvision", "timm", "pretrainedmodels")}


# ---------------------------------------------------------------------------------------------------------------
# Values read from the references
# ---------------------------------------------------------------------------------------------------------------

def package_metadata(package, field):
    try:
        return importlib.metadata.metadata(package)[field]
    except importlib.metadata.PackageNotFoundError:
        return None


def hash_prefix(url):
    """torch hub's NAME-HASH.ext convention: the leading hex digits of the file's SHA-256, else ""."""
    stem = url.rsplit("/", 1)[-1].split("?")[0].rsplit(".", 1)[0]
    digest = stem.rsplit("-", 1)[-1] if "-" in stem else ""
    return digest.lower() if re.fullmatch(r"[0-9a-fA-F]{6,}", digest) else ""


def float32_value(x):
    """The shortest decimal that is the same float32 as x: timm's Normalize holds float32 tensors, and this is
    the number it was given (0.485, not 0.48500001430511475)."""
    bits = struct.pack("<f", x)
    for digits in range(1, 10):
        value = float(f"{x:.{digits}g}")
        if struct.pack("<f", value) == bits:
            return value
    return float(x)


def numbers(values):
    if isinstance(values, torch.Tensor):
        assert values.dtype == torch.float32, values.dtype
        return [float32_value(v) for v in values.tolist()]
    return [float(v) for v in values]


def side(size, what):
    """The one side of a shortest-edge resize or a square crop: an int or a one-element sequence."""
    if isinstance(size, int):
        return size
    if len(size) == 1 or (what == "crop" and len(size) == 2 and size[0] == size[1]):
        return int(size[0])
    raise ValueError(f"{what} size {size} is not expressible as one side")


def compose_preprocessing(compose):
    """Resize, CenterCrop and Normalize read from an eval Compose; any other step must leave the image as it is."""
    T = torchvision.transforms
    found = {}
    for step in compose.transforms:
        if isinstance(step, T.Resize):
            found["resize"] = side(step.size, "resize")
            found["interpolation"] = step.interpolation.value
        elif isinstance(step, T.CenterCrop):
            found["crop"] = side(step.size, "crop")
        elif isinstance(step, T.Normalize):
            found["mean"], found["std"] = numbers(step.mean), numbers(step.std)
        elif isinstance(step, T.ToTensor) or type(step).__name__ == "MaybeToTensor":
            pass
        elif getattr(step, "is_bgr", None) is False or getattr(step, "is_255", None) is False:
            pass  # pretrainedmodels' ToSpaceBGR / ToRange255, switched off for RGB inputs in [0, 1]
        else:
            raise ValueError(f"eval transform step {step!r} is not expressible in the catalogue")
    return preprocessing(**found)


def preprocessing(resize, crop, interpolation, mean, std):
    assert interpolation in ("bilinear", "bicubic"), interpolation
    assert len(mean) == 3 and len(std) == 3, (mean, std)
    return {"resize": int(resize), "crop": int(crop), "interpolation": interpolation, "mean": mean, "std": std}


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


def none_if_nan(x):
    return None if x is None or math.isnan(x) else float(x)


def first_url(text):
    match = re.search(r"https?://[^\s<>`'\"]+", text or "")
    return match.group(0) if match else None


def plain_text(rst):
    """One line of text from a reStructuredText fragment: links reduced to their text, literals unquoted."""
    if not rst:
        return None
    text = re.sub(r"`([^`<]*?)\s*<[^>]*>`_{1,2}", r"\1", rst)
    text = re.sub(r"`{1,2}([^`]+)`{1,2}", r"\1", text)
    return " ".join(text.split()) or None


def arxiv_url(paper_ids):
    """timm's paper_ids ("arXiv:2110.00476", possibly several) -> the first one's abstract page."""
    if not paper_ids:
        return None
    first = paper_ids if isinstance(paper_ids, str) else paper_ids[0]
    first = re.split(r"[,\s]+", first.strip())[0]
    match = re.fullmatch(r"arXiv:(\d{4}\.\d{4,5})(v\d+)?", first, re.IGNORECASE)
    return f"https://arxiv.org/abs/{match.group(1)}" if match else None


def entry(**fields):
    """One catalogue entry; its label set follows from its class count."""
    fields["labels"] = "imagenet-1k" if fields["classes"] == IMAGENET_CLASSES else None
    assert set(fields) == FIELDS, set(fields) ^ FIELDS
    return fields


# ---------------------------------------------------------------------------------------------------------------
# One function per reference
# ---------------------------------------------------------------------------------------------------------------

def torchvision_transform_input(builder, weights):
    """What the builder sets transform_input to for these weights: the builder runs with the weight download and
    the loading patched out."""
    with mock.patch.object(torchvision.models._api.WeightsEnum, "get_state_dict", lambda self, *a, **k: {}), \
            mock.patch.object(torch.nn.Module, "load_state_dict", lambda self, *a, **k: None):
        model = builder(weights=weights)
    return bool(model.transform_input)


def torchvision_entries():
    license = package_metadata("torchvision", "License")
    for name in TORCHVISION:
        builder = torchvision.models.get_model_builder(name)
        enum = torchvision.models.get_model_weights(name)
        for weights in enum:
            meta = weights.meta
            metrics = meta.get("_metrics", {}).get("ImageNet-1K", {})
            categories = meta.get("categories")
            t = weights.transforms()
            yield entry(
                model=name, tag=weights.name, default=weights == enum.DEFAULT, source="torchvision",
                reference=f"torchvision {type(weights).__name__}.{weights.name}",
                url=weights.url, sha256=hash_prefix(weights.url),
                bytes=None,  # torchvision 0.14's meta has no file size
                top1=none_if_nan(metrics.get("acc@1")), top5=none_if_nan(metrics.get("acc@5")),
                parameters=meta["num_params"],
                classes=len(categories) if categories is not None else None,  # None: vgg16's features-only weights
                preprocessing=preprocessing(t.resize_size[0], t.crop_size[0], t.interpolation.value,
                                            numbers(t.mean), numbers(t.std)),
                transform_input=name in TORCHVISION_TRANSFORM_INPUT and torchvision_transform_input(builder, weights),
                license=license, paper=first_url(builder.__doc__), recipe=meta.get("recipe"),
                note=plain_text(meta.get("_docs")))


def timm_entries():
    for name, arch in TIMM.items():
        tags = []
        for pretrained in timm.list_pretrained(arch + ".*"):
            architecture, tag = timm.models.split_model_name_tag(pretrained)
            config = timm.models.get_pretrained_cfg(pretrained)
            if architecture == arch and config.num_classes == IMAGENET_CLASSES:
                tags.append((tag, config))
        if not tags:
            continue
        # timm's default is what create_model(arch, pretrained=True) loads: the first tag registered, not the first
        # list_pretrained gives, which sorts by name (inception_resnet_v2's default tf_in1k sorts after tf_ens_adv_in1k).
        default_tag = timm.models.get_pretrained_cfg(arch).tag
        parameters = parameter_count(timm.create_model(arch, pretrained=False, num_classes=IMAGENET_CLASSES))
        for tag, config in tags:
            url = config.url or f"https://huggingface.co/{config.hf_hub_id}/resolve/main/model.safetensors"
            data = timm.data.resolve_data_config({}, pretrained_cfg=config.to_dict())
            yield entry(
                model=name, tag=tag, default=tag == default_tag, source="timm", reference=f"timm {arch}.{tag}",
                url=url, sha256=hash_prefix(url), bytes=None, top1=None, top5=None, parameters=parameters,
                classes=config.num_classes,
                preprocessing=compose_preprocessing(timm.data.create_transform(**data)),
                transform_input=False, license=config.license, paper=arxiv_url(config.paper_ids),
                recipe=config.origin_url or None, note=None)


def pretrainedmodels_entries():
    license = package_metadata("pretrainedmodels", "License")
    home_page = package_metadata("pretrainedmodels", "Home-page")
    for name, arch in PRETRAINEDMODELS.items():
        model = getattr(pretrainedmodels, arch)(num_classes=IMAGENET_CLASSES, pretrained=None)
        parameters = parameter_count(model)
        for key, setting in pretrainedmodels.pretrained_settings[arch].items():
            if setting["num_classes"] != IMAGENET_CLASSES:
                continue
            for attribute in ("input_space", "input_size", "input_range", "mean", "std"):  # as its loader sets them
                setattr(model, attribute, setting[attribute])
            transform = pretrainedmodels.utils.TransformImage(model)
            yield entry(
                model=name, tag=key, default=key == "imagenet", source="pretrainedmodels",
                reference=f"pretrainedmodels {arch} {key}", url=setting["url"], sha256=hash_prefix(setting["url"]),
                bytes=None, top1=None, top5=None, parameters=parameters, classes=setting["num_classes"],
                preprocessing=compose_preprocessing(transform.tf), transform_input=False,
                license=license, paper=None, recipe=home_page, note=None)


def catalog():
    entries = [*torchvision_entries(), *timm_entries(), *pretrainedmodels_entries()]
    return sorted(entries, key=lambda e: (e["model"], e["tag"]))


# ---------------------------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------------------------

def catalog_json(entries):
    lines = [json.dumps(e, sort_keys=True, separators=(", ", ": "), allow_nan=False) for e in entries]
    return "[\n" + ",\n".join("  " + line for line in lines) + "\n]"


def swift_source(entries):
    v = versions()
    body = catalog_json(entries)
    assert '"""#' not in body
    return "\n".join([
        f"// Generated by Tools/make_weight_catalog.py from torchvision {v['torchvision']}, timm {v['timm']} "
        f"and pretrainedmodels {v['pretrainedmodels']}; do not edit.",
        "// The published weights of the registry's models (see PublishedWeights).",
        "extension PublishedWeights {",
        '    static let catalogJSON = #"""',
        *("    " + line for line in body.split("\n")),
        '    """#',
        "}",
        "",
    ])


def write_atomically(path, text):
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", delete=False) as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(f.name, 0o644)
    os.replace(f.name, path)


def committed_entries():
    text = CATALOG.read_text(encoding="utf-8")
    match = re.search(r'#"""\n(.*?)\n\s*"""#', text, re.DOTALL)
    if not match:
        raise ValueError("no catalogJSON string")
    return json.loads(match.group(1))


def differences(committed, reference):
    """One line per missing, extra or differing entry field."""
    def key(e):
        return e.get("model"), e.get("tag")

    committed_by_key = {key(e): e for e in committed}
    reference_by_key = {key(e): e for e in reference}
    lines = []
    if len(committed_by_key) != len(committed):
        lines.append("the committed catalogue has duplicate (model, tag) entries")
    for model, tag in sorted(committed_by_key.keys() | reference_by_key.keys(), key=lambda k: (str(k[0]), str(k[1]))):
        old, new = committed_by_key.get((model, tag)), reference_by_key.get((model, tag))
        if old is None:
            lines.append(f"{model} {tag}: missing from the committed catalogue")
        elif new is None:
            lines.append(f"{model} {tag}: in the committed catalogue, not published by the references")
        else:
            for field in sorted(old.keys() | new.keys()):
                if old.get(field, "<absent>") != new.get(field, "<absent>"):
                    lines.append(f"{model} {tag} {field}: committed {json.dumps(old.get(field, '<absent>'))}, "
                                 f"reference {json.dumps(new.get(field, '<absent>'))}")
    if not lines and committed != reference:
        lines.append("the committed entries are not sorted by model then tag")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--json", action="store_true", help="print the catalogue's JSON array instead of writing the Swift file")
    mode.add_argument("--check", action="store_true", help="compare the committed catalogue with the references")
    args = parser.parse_args()

    import_references()
    entries = catalog()
    if args.json:
        print(catalog_json(entries))
    elif args.check:
        v = versions()
        try:
            committed = committed_entries()
        except (OSError, ValueError) as error:  # json.JSONDecodeError is a ValueError
            print(f"{CATALOG.relative_to(ROOT)}: cannot read the catalogue: {error}")
            sys.exit(1)
        lines = differences(committed, entries)
        if lines:
            print("\n".join(lines))
            print(f"catalogue: {len(lines)} difference{'s' if len(lines) > 1 else ''} from torchvision {v['torchvision']}, "
                  f"timm {v['timm']}, pretrainedmodels {v['pretrainedmodels']}; run Tools/make_weight_catalog.py")
            sys.exit(1)
        print(f"catalogue: {len(entries)} entries match torchvision {v['torchvision']}, timm {v['timm']}, "
              f"pretrainedmodels {v['pretrainedmodels']}")
    else:
        write_atomically(CATALOG, swift_source(entries))
        counts = {s: sum(e["source"] == s for e in entries) for s in ("torchvision", "timm", "pretrainedmodels")}
        print(f"{CATALOG.relative_to(ROOT)}: {len(entries)} entries ("
              + ", ".join(f"{n} {s}" for s, n in counts.items()) + ")")


if __name__ == "__main__":
    main()
