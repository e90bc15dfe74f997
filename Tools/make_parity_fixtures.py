#!/usr/bin/env python3
"""Write PyTorch parity fixtures for ConvZoo models, and check Swift-written weights against PyTorch.

    /opt/zoo-venv/bin/python Tools/make_parity_fixtures.py --model resnet50 --out /tmp/fx/resnet50 --batch 1
    /usr/bin/python3 Tools/make_parity_fixtures.py --model resnet20 --out /tmp/fx/resnet20 [--pth] [--legacy-pth]
    ... --check-load --model resnet20 --weights swift.safetensors --io /tmp/fx/resnet20/io.safetensors
    ... --models lenet5 resnet20 --root /tmp/fx [--check-load]   # several, one folder each, one process
    ... --list                 # the model names
    ... --verify-fallback      # compare the script's resnetv2/seresnet modules with timm's

Fixture mode (--out DIR):
  1. torch.manual_seed(seed), two threads; builds the reference model in eval mode.
  2. Every BatchNorm gets running_mean = randn*0.1, running_var = rand*0.5+0.75, weight = 1+randn*0.1,
     bias = randn*0.1, num_batches_tracked = 7; then every parameter that is zero everywhere gets randn*0.05.
  3. DIR/weights.safetensors: the state_dict in order (F32, I64 for num_batches_tracked),
     __metadata__ {"format": "pt", "model": NAME, "seed": "S"}.
  4. DIR/io.safetensors: "input" = randn [B, C, H, W], "output" = model(input) (eval, no_grad).
  5. --pth: DIR/weights.pth (torch.save, zip); --legacy-pth: DIR/weights-legacy.pth (legacy format).
  Both safetensors files (and the .pth files) are read back and compared before the summary line.

Check mode (--check-load): reads a safetensors file (F32/F16/BF16/F64/I64...), loads it into the
reference model with load_state_dict(strict=True), runs io's "input" and compares with io's "output":
exit 0 when max|diff| <= 1e-4 * max(1, max|output|), else exit 1. --input and --classes default to the
shapes found in the io file.

References: torchvision.models (weights=None) for alexnet, vgg*, googlenet, resnet18..152,
densenet121..201, resnext*, wide_resnet*, squeezenet1_0/1_1, mobilenet_v2, inception_v3 (googlenet and
inception_v3 as their builders make them without weights: transform_input off; io.safetensors also holds
"output_transform_input_on", the same model's output with it on, as for the weights torchvision publishes); timm.create_model(pretrained=False) for resnetv2_* and
seresnet* -- when timm cannot be imported (or with --reference-fallback) modules written here with timm's
layout are used instead; the CIFAR nets and lenet5 are defined here (ConvZoo builds them the same way).
The safetensors reader and writer are hand-written (no safetensors package needed).
"""
import argparse
import json
import os
import shutil
import sys
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_file  # noqa: E402

try:
    import timm
except ImportError:
    timm = None
try:
    import pretrainedmodels
except ImportError:
    pretrainedmodels = None

# ---------------------------------------------------------------------------------------------------------------
# safetensors I/O
# ---------------------------------------------------------------------------------------------------------------

TORCH_TO_ST = {torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8", torch.int16: "I16", torch.int32: "I32",
               torch.int64: "I64", torch.float16: "F16", torch.float32: "F32", torch.float64: "F64"}


def write_safetensors(path, tensors, metadata=None):
    """tensors: ordered mapping name -> torch tensor, written in that order (Tools/safetensors_file.py)."""
    safetensors_file.write(path, [(name, t.detach().cpu().contiguous().numpy()) for name, t in tensors.items()], metadata)


def read_safetensors(path):
    """Returns (OrderedDict name -> torch tensor in header order, metadata dict)."""
    arrays, metadata = safetensors_file.read(path)
    return OrderedDict((name, torch.from_numpy(a)) for name, a in arrays.items()), metadata


# ---------------------------------------------------------------------------------------------------------------
# CIFAR nets and LeNet-5 (defined here; ConvZoo builds them the same way)
# ---------------------------------------------------------------------------------------------------------------

def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)


class SqueezeExcite(nn.Module):
    """x * sigmoid(fc2(relu(fc1(mean_hw(x))))) with 1x1 convs carrying biases."""

    def __init__(self, channels, reduced):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, reduced, 1, bias=True)
        self.fc2 = nn.Conv2d(reduced, channels, 1, bias=True)

    def forward(self, x):
        s = x.mean(dim=(2, 3), keepdim=True)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(s))))


class CifarBasicBlock(nn.Module):
    """conv1-bn1-relu-conv2-bn2[-se] (+ option A shortcut unless plain), then relu."""

    def __init__(self, cin, cout, stride, residual=True, se=False):
        super().__init__()
        self.cin, self.cout, self.stride, self.residual = cin, cout, stride, residual
        self.conv1 = conv3x3(cin, cout, stride)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = conv3x3(cout, cout)
        self.bn2 = nn.BatchNorm2d(cout)
        if se:
            self.se = SqueezeExcite(cout, max(1, cout // 16))
        else:
            self.se = None

    def shortcut(self, x):
        if self.stride != 1:
            x = x[:, :, ::self.stride, ::self.stride]
        if self.cout != self.cin:
            n, _, h, w = x.shape
            x = torch.cat([x, x.new_zeros(n, self.cout - self.cin, h, w)], dim=1)
        return x

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.se is not None:
            out = self.se(out)
        if self.residual:
            out = out + self.shortcut(x)
        return F.relu(out)


class CifarResNet(nn.Module):
    """resnetN / plainN / se_resnetN for 32x32 inputs: 16-32-64 widths, n = (N-2)/6 blocks per stage."""

    def __init__(self, depth, in_channels=3, num_classes=10, residual=True, se=False):
        super().__init__()
        assert (depth - 2) % 6 == 0, depth
        n = (depth - 2) // 6
        self.conv1 = conv3x3(in_channels, 16)
        self.bn1 = nn.BatchNorm2d(16)
        cin = 16
        for i, width in enumerate((16, 32, 64)):
            blocks = []
            for b in range(n):
                stride = 2 if (i > 0 and b == 0) else 1
                blocks.append(CifarBasicBlock(cin, width, stride, residual=residual, se=se))
                cin = width
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class ConvShortcut(nn.Module):
    """Holds a single 1x1 projection conv under the key `conv`."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 1, stride=stride, bias=False)

    def forward(self, x):
        return self.conv(x)


class PreActBasicBlock(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        cout = width
        self.downsample = ConvShortcut(cin, cout, stride) if (stride != 1 or cin != cout) else None
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = conv3x3(cin, cout, stride)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = conv3x3(cout, cout)
        self.out_channels = cout

    def forward(self, x):
        pre = F.relu(self.bn1(x))
        shortcut = self.downsample(pre) if self.downsample is not None else x
        out = self.conv1(pre)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + shortcut


class PreActBottleneckBlock(nn.Module):
    def __init__(self, cin, width, stride):
        super().__init__()
        cout = 4 * width
        self.downsample = ConvShortcut(cin, cout, stride) if (stride != 1 or cin != cout) else None
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv2 = conv3x3(width, width, stride)
        self.bn3 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.out_channels = cout

    def forward(self, x):
        pre = F.relu(self.bn1(x))
        shortcut = self.downsample(pre) if self.downsample is not None else x
        out = self.conv1(pre)
        out = self.conv2(F.relu(self.bn2(out)))
        out = self.conv3(F.relu(self.bn3(out)))
        return out + shortcut


class PreActResNet(nn.Module):
    """preact_resnet110 (basic, n=18) / preact_resnet164 (bottleneck, n=18) for CIFAR."""

    def __init__(self, block, n, in_channels=3, num_classes=10):
        super().__init__()
        self.conv1 = conv3x3(in_channels, 16)
        cin = 16
        for i, width in enumerate((16, 32, 64)):
            blocks = []
            for b in range(n):
                blk = block(cin, width, 2 if (i > 0 and b == 0) else 1)
                blocks.append(blk)
                cin = blk.out_channels
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.bn = nn.BatchNorm2d(cin)
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.layer3(self.layer2(self.layer1(self.conv1(x))))
        x = F.relu(self.bn(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class DenseLayerBC(nn.Module):
    def __init__(self, cin, growth):
        super().__init__()
        self.norm1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, 4 * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(4 * growth)
        self.conv2 = nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False)

    def forward(self, x):
        x = self.conv1(F.relu(self.norm1(x)))
        return self.conv2(F.relu(self.norm2(x)))


class DenseBlockBC(nn.Module):
    def __init__(self, cin, layers, growth):
        super().__init__()
        for i in range(layers):
            self.add_module(f"denselayer{i + 1}", DenseLayerBC(cin + i * growth, growth))

    def forward(self, x):
        feats = [x]
        for layer in self.children():
            feats.append(layer(torch.cat(feats, dim=1)))
        return torch.cat(feats, dim=1)


class TransitionBC(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm = nn.BatchNorm2d(cin)
        self.conv = nn.Conv2d(cin, cout, 1, bias=False)

    def forward(self, x):
        return F.avg_pool2d(self.conv(F.relu(self.norm(x))), kernel_size=2, stride=2)


class DenseNetBC(nn.Module):
    """densenet_bc_100: k = 12, 3 blocks of 16 bottleneck layers, compression 0.5, 24-channel stem."""

    def __init__(self, in_channels=3, num_classes=10, growth=12, layers=16):
        super().__init__()
        c = 2 * growth
        mods = OrderedDict(conv0=nn.Conv2d(in_channels, c, 3, padding=1, bias=False))
        for b in range(3):
            mods[f"denseblock{b + 1}"] = DenseBlockBC(c, layers, growth)
            c += layers * growth
            if b < 2:
                mods[f"transition{b + 1}"] = TransitionBC(c, c // 2)
                c //= 2
        mods["norm_final"] = nn.BatchNorm2d(c)
        self.features = nn.Sequential(mods)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        x = F.relu(self.features(x))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class LeNet5(nn.Module):
    def __init__(self, in_channels=1, num_classes=10, hw=(28, 28)):
        super().__init__()
        if tuple(hw) == (28, 28):
            pad = 2
        elif tuple(hw) == (32, 32):
            pad = 0
        else:
            raise SystemExit(f"lenet5 takes 28x28 (padding 2) or 32x32 (padding 0) inputs, not {hw[0]}x{hw[1]}")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 6, 5, padding=pad), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


# ---------------------------------------------------------------------------------------------------------------
# Fallbacks for timm's resnetv2_* and seresnet* (same state_dict keys, order and forward as timm 1.0)
# ---------------------------------------------------------------------------------------------------------------

def se_reduced_channels(channels, ratio=1.0 / 16, divisor=8):
    """timm's SE reduction: channels*ratio rounded to the nearest multiple of divisor, at least divisor."""
    v = channels * ratio
    return max(divisor, int(v + divisor / 2) // divisor * divisor)


class BNReLU(nn.BatchNorm2d):
    """BatchNorm2d followed by ReLU (timm's BatchNormAct2d: no extra state_dict keys)."""

    def forward(self, x):
        return F.relu(super().forward(x))


class V2PreActBasic(nn.Module):
    def __init__(self, cin, cout, stride, first):
        super().__init__()
        self.downsample = ConvShortcut(cin, cout, stride) if first and (stride != 1 or cin != cout) else None
        self.norm1 = BNReLU(cin)
        self.conv1 = conv3x3(cin, cout, stride)
        self.norm2 = BNReLU(cout)
        self.conv2 = conv3x3(cout, cout)

    def forward(self, x):
        pre = self.norm1(x)
        shortcut = self.downsample(pre) if self.downsample is not None else x
        return self.conv2(self.norm2(self.conv1(pre))) + shortcut


class V2PreActBottleneck(nn.Module):
    def __init__(self, cin, cout, stride, first):
        super().__init__()
        mid = cout // 4
        self.downsample = ConvShortcut(cin, cout, stride) if first and (stride != 1 or cin != cout) else None
        self.norm1 = BNReLU(cin)
        self.conv1 = nn.Conv2d(cin, mid, 1, bias=False)
        self.norm2 = BNReLU(mid)
        self.conv2 = conv3x3(mid, mid, stride)
        self.norm3 = BNReLU(mid)
        self.conv3 = nn.Conv2d(mid, cout, 1, bias=False)

    def forward(self, x):
        pre = self.norm1(x)
        shortcut = self.downsample(pre) if self.downsample is not None else x
        out = self.conv2(self.norm2(self.conv1(pre)))
        return self.conv3(self.norm3(out)) + shortcut


class V2Stage(nn.Module):
    def __init__(self, block, cin, cout, stride, depth):
        super().__init__()
        self.blocks = nn.Sequential(*[block(cin if i == 0 else cout, cout, stride if i == 0 else 1, i == 0)
                                      for i in range(depth)])

    def forward(self, x):
        return self.blocks(x)


class V2Head(nn.Module):
    def __init__(self, cin, num_classes):
        super().__init__()
        self.fc = nn.Conv2d(cin, num_classes, 1, bias=True)

    def forward(self, x):
        return torch.flatten(self.fc(x.mean(dim=(2, 3), keepdim=True)), 1)


class ResNetV2Ref(nn.Module):
    """timm ResNetV2 with BatchNorm (resnetv2_18..152): 7x7 stem conv + maxpool, pre-activation stages,
    final BN+ReLU, global average pool, 1x1-conv classifier `head.fc`."""

    def __init__(self, layers, basic, in_channels=3, num_classes=1000):
        super().__init__()
        self.stem = nn.Sequential(OrderedDict(
            conv=nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False),
            pool=nn.MaxPool2d(3, stride=2, padding=1)))
        widths = (64, 128, 256, 512) if basic else (256, 512, 1024, 2048)
        block = V2PreActBasic if basic else V2PreActBottleneck
        stages, cin = [], 64
        for i, (d, w) in enumerate(zip(layers, widths)):
            stages.append(V2Stage(block, cin, w, 1 if i == 0 else 2, d))
            cin = w
        self.stages = nn.Sequential(*stages)
        self.norm = BNReLU(cin)
        self.head = V2Head(cin, num_classes)

    def forward(self, x):
        return self.head(self.norm(self.stages(self.stem(x))))


def projection(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))


class SEBasic(nn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride):
        super().__init__()
        cout = planes
        self.conv1 = conv3x3(cin, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.se = SqueezeExcite(cout, se_reduced_channels(cout))
        self.downsample = projection(cin, cout, stride) if (stride != 1 or cin != cout) else None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.se(self.bn2(self.conv2(out)))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return F.relu(out + shortcut)


class SEBottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride):
        super().__init__()
        cout = planes * 4
        self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.se = SqueezeExcite(cout, se_reduced_channels(cout))
        self.downsample = projection(cin, cout, stride) if (stride != 1 or cin != cout) else None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.se(self.bn3(self.conv3(out)))
        shortcut = self.downsample(x) if self.downsample is not None else x
        return F.relu(out + shortcut)


class SEResNetRef(nn.Module):
    """timm seresnet18..152: torchvision-style ResNet with SE (timm rounding of the reduced width) in every block."""

    def __init__(self, block, layers, in_channels=3, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        cin = 64
        for i, (d, planes) in enumerate(zip(layers, (64, 128, 256, 512))):
            blocks = []
            for b in range(d):
                blocks.append(block(cin, planes, (1 if i == 0 else 2) if b == 0 else 1))
                cin = planes * block.expansion
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


TIMM_FALLBACK = {
    "resnetv2_18": lambda c, n: ResNetV2Ref((2, 2, 2, 2), True, c, n),
    "resnetv2_34": lambda c, n: ResNetV2Ref((3, 4, 6, 3), True, c, n),
    "resnetv2_50": lambda c, n: ResNetV2Ref((3, 4, 6, 3), False, c, n),
    "resnetv2_101": lambda c, n: ResNetV2Ref((3, 4, 23, 3), False, c, n),
    "resnetv2_152": lambda c, n: ResNetV2Ref((3, 8, 36, 3), False, c, n),
    "seresnet18": lambda c, n: SEResNetRef(SEBasic, (2, 2, 2, 2), c, n),
    "seresnet34": lambda c, n: SEResNetRef(SEBasic, (3, 4, 6, 3), c, n),
    "seresnet50": lambda c, n: SEResNetRef(SEBottleneck, (3, 4, 6, 3), c, n),
    "seresnet101": lambda c, n: SEResNetRef(SEBottleneck, (3, 4, 23, 3), c, n),
    "seresnet152": lambda c, n: SEResNetRef(SEBottleneck, (3, 8, 36, 3), c, n),
}

# ---------------------------------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------------------------------

IMAGENET = ((3, 224, 224), 1000)
CIFAR = ((3, 32, 32), 10)
TORCHVISION = ["alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
               "googlenet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
               "densenet121", "densenet161", "densenet169", "densenet201",
               "resnext50_32x4d", "resnext101_32x8d", "wide_resnet50_2", "wide_resnet101_2",
               "squeezenet1_0", "squeezenet1_1", "mobilenet_v2", "inception_v3"]
TIMM = list(TIMM_FALLBACK)
# timm models this script has no reference modules for (timm itself is needed), by ConvZoo name → timm name.
TIMM_ONLY = {"mobilenet_v1": "mobilenetv1_100", "xception": "legacy_xception",
             "inception_resnet_v2": "inception_resnet_v2", "nasnetalarge": "nasnetalarge"}
# Models whose reference is the `pretrainedmodels` package (pip install pretrainedmodels munch).
PRETRAINEDMODELS = ["nasnetamobile"]
CIFAR_NETS = ([f"resnet{d}" for d in (20, 32, 44, 56, 110)] + [f"plain{d}" for d in (20, 32, 44, 56, 110)]
              + ["preact_resnet110", "preact_resnet164", "se_resnet20", "se_resnet56", "densenet_bc_100"])
DEFAULTS = {**{m: IMAGENET for m in TORCHVISION + TIMM + list(TIMM_ONLY) + PRETRAINEDMODELS}, **{m: CIFAR for m in CIFAR_NETS},
            "lenet5": ((1, 28, 28), 10), "inception_v3": ((3, 299, 299), 1000), "xception": ((3, 299, 299), 1000),
            "inception_resnet_v2": ((3, 299, 299), 1000), "nasnetalarge": ((3, 331, 331), 1000)}

_fallback_announced = False


def replace_first_conv(model, in_channels):
    """torchvision models are built for 3 channels; swap the first conv for one with in_channels (same key)."""
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Conv2d):
            if mod.in_channels == in_channels:
                return
            new = nn.Conv2d(in_channels, mod.out_channels, mod.kernel_size, stride=mod.stride, padding=mod.padding,
                            dilation=mod.dilation, groups=mod.groups, bias=mod.bias is not None)
            parent = model
            *path, leaf = name.split(".")
            for p in path:
                parent = getattr(parent, p)
            setattr(parent, leaf, new)
            return


def build_model(name, in_channels, hw, num_classes, force_fallback=False):
    global _fallback_announced
    if name in TORCHVISION:
        import torchvision.models as tvm
        # googlenet and inception_v3 as their builders make them without weights (transform_input off, as for
        # anybody's own checkpoint); the auxiliary heads run in training only, so they are left out.
        if name == "googlenet":
            model = tvm.googlenet(weights=None, num_classes=num_classes, aux_logits=False, init_weights=True)
        elif name == "inception_v3":
            model = tvm.inception_v3(weights=None, num_classes=num_classes, aux_logits=False, init_weights=True)
        else:
            model = getattr(tvm, name)(weights=None, num_classes=num_classes)
        if in_channels != 3:
            replace_first_conv(model, in_channels)
    elif name in PRETRAINEDMODELS:
        if pretrainedmodels is None:
            raise SystemExit(f"{name} needs pretrainedmodels (pip install pretrainedmodels munch)")
        model = getattr(pretrainedmodels, name)(num_classes=num_classes, pretrained=None)
        if in_channels != 3:
            replace_first_conv(model, in_channels)
    elif name in TIMM_ONLY:
        if timm is None:
            raise SystemExit(f"{name} needs timm (pip install timm); this script has no reference module for it")
        model = timm.create_model(TIMM_ONLY[name], pretrained=False, num_classes=num_classes, in_chans=in_channels)
    elif name in TIMM:
        if timm is not None and not force_fallback:
            model = timm.create_model(name, pretrained=False, num_classes=num_classes, in_chans=in_channels)
        else:
            if not _fallback_announced:
                why = "--reference-fallback given" if timm is not None else "timm cannot be imported"
                print(f"note: {why}; {name} uses this script's own timm-layout reference modules")
                _fallback_announced = True
            model = TIMM_FALLBACK[name](in_channels, num_classes)
    elif name.startswith("resnet") and name in CIFAR_NETS:
        model = CifarResNet(int(name[6:]), in_channels, num_classes, residual=True)
    elif name.startswith("plain") and name in CIFAR_NETS:
        model = CifarResNet(int(name[5:]), in_channels, num_classes, residual=False)
    elif name.startswith("se_resnet") and name in CIFAR_NETS:
        model = CifarResNet(int(name[9:]), in_channels, num_classes, residual=True, se=True)
    elif name == "preact_resnet110":
        model = PreActResNet(PreActBasicBlock, 18, in_channels, num_classes)
    elif name == "preact_resnet164":
        model = PreActResNet(PreActBottleneckBlock, 18, in_channels, num_classes)
    elif name == "densenet_bc_100":
        model = DenseNetBC(in_channels, num_classes)
    elif name == "lenet5":
        model = LeNet5(in_channels, num_classes, hw)
    else:
        raise SystemExit(f"unknown model {name!r}; --list shows the names")
    return model.eval()


@torch.no_grad()
def randomize(model):
    """Non-trivial BatchNorm statistics/affine, and small random values for all-zero parameters."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            c = m.num_features
            if m.running_mean is not None:
                m.running_mean.copy_(torch.randn(c) * 0.1)
                m.running_var.copy_(torch.rand(c) * 0.5 + 0.75)
                m.num_batches_tracked.fill_(7)
            if m.weight is not None:
                m.weight.copy_(1 + torch.randn(c) * 0.1)
                m.bias.copy_(torch.randn(c) * 0.1)
    for _, p in model.named_parameters():
        if p.numel() and not torch.any(p != 0):
            p.copy_(torch.randn(p.shape) * 0.05)


def parse_input(text):
    try:
        dims = tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        dims = ()
    if len(dims) != 3 or min(dims) <= 0:
        raise SystemExit(f"--input wants CxHxW (e.g. 3x32x32), not {text!r}")
    return dims


def human(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def same_state(a, b, what):
    if list(a) != list(b):
        raise SystemExit(f"read-back of {what}: keys differ")
    for k in a:
        if a[k].dtype != b[k].dtype or a[k].shape != b[k].shape or not torch.equal(a[k], b[k]):
            raise SystemExit(f"read-back of {what}: tensor {k} differs")


# ---------------------------------------------------------------------------------------------------------------
# Modes
# ---------------------------------------------------------------------------------------------------------------

def make_fixtures(args):
    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    (c, h, w), classes = DEFAULTS.get(args.model, IMAGENET)
    if args.input:
        c, h, w = parse_input(args.input)
    classes = args.classes or classes
    start = time.time()
    model = build_model(args.model, c, (h, w), classes, args.reference_fallback)
    if args.model in ("inception_v3", "googlenet"):
        # torchvision's initialisations are meant to be replaced by trained weights: Inception v3's N(0, 0.1²)
        # grows the activations to ~1e12 over 94 convs, GoogLeNet's N(0, 0.01²) shrinks them until the output
        # hardly depends on the input (transform_input on or off: 1.5e-8 apart). He-normal convs keep them near
        # 1, so the comparison means something.
        with torch.no_grad():
            for m in model.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
    randomize(model)
    state = model.state_dict()
    x = torch.randn(args.batch, c, h, w)
    with torch.no_grad():
        y = model(x)
    io = OrderedDict(input=x, output=y.float())
    if hasattr(model, "transform_input") and c == 3:
        # The same weights as a published file of Google's would run them: transform_input on.
        model.transform_input = True
        with torch.no_grad():
            io["output_transform_input_on"] = model(x).float()
        model.transform_input = False
    os.makedirs(args.out, exist_ok=True)
    wpath, iopath = os.path.join(args.out, "weights.safetensors"), os.path.join(args.out, "io.safetensors")
    meta = {"format": "pt", "model": args.model, "seed": str(args.seed)}
    write_safetensors(wpath, state, meta)
    write_safetensors(iopath, io)
    back, back_meta = read_safetensors(wpath)
    same_state(state, back, wpath)
    if back_meta != meta:
        raise SystemExit(f"read-back of {wpath}: metadata {back_meta} != {meta}")
    same_state(io, read_safetensors(iopath)[0], iopath)
    if args.pth:
        p = os.path.join(args.out, "weights.pth")
        torch.save(state, p)
        same_state(state, torch.load(p), p)
    if args.legacy_pth:
        p = os.path.join(args.out, "weights-legacy.pth")
        torch.save(state, p, _use_new_zipfile_serialization=False)
        same_state(state, torch.load(p), p)
    params = sum(p.numel() for p in model.parameters())
    print(f"{args.model}: {params:,} parameters, output {list(y.shape)}, max|output| {y.abs().max().item():.6g}"
          f" ({os.path.getsize(wpath) / 2**20:.1f} MiB weights, {time.time() - start:.1f}s) -> {args.out}")


def check_load(args):
    """True when PyTorch, loading args.weights, reproduces args.io's output."""
    torch.set_num_threads(2)
    io, _ = read_safetensors(args.io)
    if "input" not in io or "output" not in io:
        raise SystemExit(f"{args.io}: needs 'input' and 'output' tensors")
    x, expected = io["input"].float(), io["output"].float()
    c, h, w = parse_input(args.input) if args.input else tuple(x.shape[1:])
    classes = args.classes or (expected.shape[1] if expected.dim() == 2 else DEFAULTS.get(args.model, IMAGENET)[1])
    model = build_model(args.model, c, (h, w), classes, args.reference_fallback)
    raw, meta = read_safetensors(args.weights)
    sd = OrderedDict((k, v.float() if v.is_floating_point() else v) for k, v in raw.items())
    # load_state_dict(strict=True) quietly fills in a missing num_batches_tracked, so compare key sets first
    want = model.state_dict()
    missing, unexpected = [k for k in want if k not in sd], [k for k in sd if k not in want]
    if missing or unexpected:
        print(f"check-load {args.model}: FAILED, {args.weights} has {len(missing)} missing and {len(unexpected)} "
              f"unexpected keys\n  missing: {missing[:10]}\n  unexpected: {unexpected[:10]}")
        return False
    odd = [k for k in want if not want[k].is_floating_point() and raw[k].dtype != want[k].dtype]
    if odd:
        print(f"check-load {args.model}: note: {len(odd)} integer buffers stored as "
              f"{TORCH_TO_ST[raw[odd[0]].dtype]} instead of {TORCH_TO_ST[want[odd[0]].dtype]} (e.g. {odd[0]})")
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as e:
        print(f"check-load {args.model}: FAILED to load {args.weights}:\n{e}")
        return False
    with torch.no_grad():
        y = model(x)
    if y.shape != expected.shape:
        print(f"check-load {args.model}: FAILED, output shape {list(y.shape)} != expected {list(expected.shape)}")
        return False
    diff = (y - expected).abs().max().item()
    scale = expected.abs().max().item()
    tol = 1e-4 * max(1.0, scale)
    ok = diff <= tol
    dtypes = sorted({TORCH_TO_ST[v.dtype] for v in raw.values()})
    print(f"check-load {args.model}: {len(raw)} tensors ({', '.join(dtypes)}), max|diff| {diff:.3g}, "
          f"tolerance {tol:.3g} (max|output| {scale:.6g}): {'OK' if ok else 'FAILED'}")
    if not ok:
        print(f"check-load {args.model}: PyTorch output with {args.weights} differs from {args.io} beyond tolerance")
    return ok


def verify_fallback(args):
    """Compare the fallback modules with timm: keys, shapes, order and outputs with timm's weights."""
    if timm is None:
        raise SystemExit("--verify-fallback needs timm")
    torch.set_num_threads(2)
    names = [args.model] if args.model else TIMM
    bad = 0
    for name in names:
        torch.manual_seed(args.seed)
        (c, h, w), classes = DEFAULTS[name]
        if args.input:
            c, h, w = parse_input(args.input)
        classes = args.classes or classes
        ref = build_model(name, c, (h, w), classes)
        randomize(ref)
        mine = TIMM_FALLBACK[name](c, classes).eval()
        a, b = ref.state_dict(), mine.state_dict()
        layout_ok = [(k, tuple(v.shape)) for k, v in a.items()] == [(k, tuple(v.shape)) for k, v in b.items()]
        diff = float("nan")
        if layout_ok:
            mine.load_state_dict(a, strict=True)
            x = torch.randn(args.batch, c, h, w)
            with torch.no_grad():
                ya, yb = ref(x), mine(x)
            diff = (ya - yb).abs().max().item()
            layout_ok = diff <= 1e-5 * max(1.0, ya.abs().max().item())
        bad += not layout_ok
        print(f"{name}: {len(a)} keys, keys/shapes/order {'match' if list(a) == list(b) else 'DIFFER'}, "
              f"max|diff| {diff:.3g}: {'OK' if layout_ok else 'FAILED'}")
    sys.exit(1 if bad else 0)


def each_model(args, run):
    """--models A B ... --root R: run (make_fixtures or check_load) for R/A, R/B, ... in this one process (one
    import of torch for all). A model that fails is reported and the others go on; a failed fixture folder is
    removed so that nothing downstream takes it for a complete one. Exit 1 if any model failed."""
    failed = []
    for name in args.models:
        if name not in DEFAULTS:
            print(f"{name}: unknown model; --list shows the names")
            failed.append(name)
            continue
        one = argparse.Namespace(**vars(args))
        one.model, folder = name, os.path.join(args.root, name)
        one.out, one.weights, one.io = folder, os.path.join(folder, "convzoo.safetensors"), os.path.join(folder, "io.safetensors")
        try:
            ok = run(one) is not False
        except (Exception, SystemExit) as e:
            print(f"{name}: FAILED: {e}")
            ok = False
        if not ok:
            failed.append(name)
            if run is make_fixtures:
                shutil.rmtree(folder, ignore_errors=True)
    if failed:
        print(f"failed: {' '.join(failed)}")
    sys.exit(1 if failed else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--model", help="registry name (see --list)")
    ap.add_argument("--models", nargs="+", help="several models, each in its own folder under --root")
    ap.add_argument("--root", help="with --models: the folder that holds one fixture folder per model")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", help="fixture directory to write")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--input", help="CxHxW, default from the model (3x224x224, 3x32x32, lenet5 1x28x28)")
    ap.add_argument("--classes", type=int, help="number of classes (default 1000 ImageNet, 10 CIFAR/lenet5)")
    ap.add_argument("--pth", action="store_true", help="also write weights.pth (torch.save, zip)")
    ap.add_argument("--legacy-pth", action="store_true", help="also write weights-legacy.pth (pre-1.6 format)")
    ap.add_argument("--check-load", action="store_true", help="load --weights into the reference and compare with --io")
    ap.add_argument("--weights", help="safetensors weights for --check-load")
    ap.add_argument("--io", help="io.safetensors for --check-load")
    ap.add_argument("--reference-fallback", action="store_true",
                    help="use this script's resnetv2/seresnet modules even when timm is importable")
    ap.add_argument("--verify-fallback", action="store_true",
                    help="compare the fallback modules with timm (all timm models, or --model)")
    ap.add_argument("--list", action="store_true", help="print the model names")
    args = ap.parse_args()
    if args.list:
        for group, names in (("torchvision", TORCHVISION), ("timm", TIMM + list(TIMM_ONLY)),
                            ("pretrainedmodels", PRETRAINEDMODELS), ("cifar", CIFAR_NETS), ("mnist", ["lenet5"])):
            print(f"{group}: {' '.join(names)}")
        return
    if args.verify_fallback:
        return verify_fallback(args)
    if args.models:
        if args.model or not args.root:
            ap.error("--models takes --root (and no --model)")
        return each_model(args, check_load if args.check_load else make_fixtures)
    if not args.model:
        ap.error("--model is required")
    if args.model not in DEFAULTS:
        ap.error(f"unknown model {args.model!r}; --list shows the names")
    if args.check_load:
        if not args.weights or not args.io:
            ap.error("--check-load needs --weights and --io")
        sys.exit(0 if check_load(args) else 1)
    if not args.out:
        ap.error("--out is required (or --check-load)")
    if args.batch < 1:
        ap.error("--batch must be >= 1")
    make_fixtures(args)


if __name__ == "__main__":
    main()
