#!/usr/bin/env python3
"""Write the state_dict keys and shapes of the reference models, for ConvZoo's naming tests.

    /opt/zoo-venv/bin/python Tools/make_model_fixtures.py   # a Python with torch, torchvision, timm, pretrainedmodels

torchvision models come from torchvision.models; resnetv2_*, seresnet*, mobilenet_v1, xception,
inception_resnet_v2 and nasnetalarge from timm; nasnetamobile from pretrainedmodels. Writes
Tests/Fixtures/models/state_dict_keys.json: {model: [[key, [shape...]], ...]} in state_dict order,
and the parameter counts: {"params": {model: count}}.
"""
import json
import os

import pretrainedmodels
import timm
import torchvision.models as tvm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "models", "state_dict_keys.json")

TORCHVISION = ["alexnet", "vgg11", "vgg16", "vgg16_bn", "googlenet", "resnet18", "resnet34", "resnet50",
               "resnet101", "resnet152", "densenet121", "densenet161", "densenet169", "densenet201",
               "resnext50_32x4d", "resnext101_32x8d", "wide_resnet50_2", "wide_resnet101_2",
               "squeezenet1_0", "squeezenet1_1", "mobilenet_v2", "inception_v3"]
TIMM = ["resnetv2_18", "resnetv2_50", "resnetv2_101", "seresnet18", "seresnet50", "seresnet152", "mobilenet_v1", "xception",
        "inception_resnet_v2", "nasnetalarge"]
PRETRAINEDMODELS = ["nasnetamobile"]
# ConvZoo's registry name → timm's, where they differ.
TIMM_NAMES = {"mobilenet_v1": "mobilenetv1_100", "xception": "legacy_xception"}


def build(name):
    if name in PRETRAINEDMODELS:
        return getattr(pretrainedmodels, name)(num_classes=1000, pretrained=None)
    if name in TIMM:
        return timm.create_model(TIMM_NAMES.get(name, name), pretrained=False)
    if name == "googlenet":
        return tvm.googlenet(weights=None, aux_logits=False, init_weights=False)
    if name == "inception_v3":  # ConvZoo builds the auxiliary head only for training (27,161,264 with it)
        return tvm.inception_v3(weights=None, aux_logits=False, init_weights=False)
    return getattr(tvm, name)(weights=None)


def main():
    keys, params = {}, {}
    for name in TORCHVISION + TIMM + PRETRAINEDMODELS:
        model = build(name)
        keys[name] = [[k, list(v.shape)] for k, v in model.state_dict().items()]
        params[name] = sum(p.numel() for p in model.parameters())
        print(f"{name}: {len(keys[name])} keys, {params[name]:,} parameters")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"keys": keys, "params": params, "timm": timm.__version__,
                   "pretrainedmodels": pretrainedmodels.__version__}, f, separators=(",", ":"))
    print(f"wrote {OUT} ({os.path.getsize(OUT):,} bytes)")


if __name__ == "__main__":
    main()
