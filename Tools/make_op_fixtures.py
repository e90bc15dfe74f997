#!/usr/bin/env python3
"""Generate small PyTorch reference fixtures for ConvZoo's Swift op tests.

Run with Debian's interpreter (it has torch):
    /usr/bin/python3 Tools/make_op_fixtures.py

Writes Tests/Fixtures/ops/<case>.safetensors (float32 tensors, through
Tools/safetensors_file.py). The header's "__metadata__" holds {"config": "<JSON
string>"} describing the case. All references are computed in float32 on CPU with one thread.
"""

import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_file  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "Tests", "Fixtures", "ops")

torch.set_num_threads(1)
torch.set_default_dtype(torch.float32)

WRITTEN = []


def save(name, tensors, config):
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, name + ".safetensors")
    tensors = {k: v.detach().to(torch.float32) for k, v in tensors.items()}
    safetensors_file.write(path, [(k, v.contiguous().numpy()) for k, v in tensors.items()],
                           {"config": json.dumps(config, sort_keys=True)})
    # self-check: re-read and compare bit-for-bit
    back, meta = safetensors_file.read(path)
    assert json.loads(meta["config"]) == json.loads(json.dumps(config)), (path, meta, config)
    assert list(back.keys()) == list(tensors.keys()), (path, back.keys())
    for k, v in tensors.items():
        assert tuple(back[k].shape) == tuple(v.shape), (path, k)
        assert torch.equal(torch.from_numpy(back[k]), v), (path, k)
        assert torch.isfinite(v).all(), (path, k)
    WRITTEN.append((name, path, config))


def leaf(t):
    return t.detach().clone().requires_grad_(True)


def pair(v):
    return list(v) if isinstance(v, (tuple, list)) else [v, v]


# ---------------------------------------------------------------------------
# 1. conv2d
# ---------------------------------------------------------------------------

CONV2D_CASES = [
    # N, Cin, H, W, Cout, kernel, stride, padding, dilation, groups, bias
    (2, 3, 7, 7, 4, (3, 3), (1, 1), (1, 1), (1, 1), 1, True),
    (2, 4, 8, 9, 6, (3, 3), (2, 2), (1, 1), (1, 1), 1, True),
    (1, 4, 9, 9, 4, (3, 3), (1, 1), (2, 2), (2, 2), 1, False),
    (2, 6, 7, 8, 9, (3, 3), (1, 2), (1, 0), (1, 1), 3, True),
    (2, 8, 5, 5, 8, (3, 3), (1, 1), (1, 1), (1, 1), 8, False),   # depthwise
    (2, 5, 6, 6, 7, (1, 1), (1, 1), (0, 0), (1, 1), 1, True),    # 1x1 s1
    (2, 5, 7, 7, 7, (1, 1), (2, 2), (0, 0), (1, 1), 1, False),   # 1x1 s2
    (1, 3, 11, 10, 4, (5, 3), (2, 3), (2, 1), (1, 2), 1, True),
    (2, 2, 4, 4, 3, (7, 7), (2, 2), (3, 3), (1, 1), 1, True),    # k > input
]


def make_conv2d():
    for i, (n, cin, h, w, cout, k, s, p, d, g, has_bias) in enumerate(CONV2D_CASES):
        torch.manual_seed(100 + i)
        x = leaf(torch.randn(n, cin, h, w))
        weight = leaf(torch.randn(cout, cin // g, k[0], k[1]))
        bias = leaf(torch.randn(cout)) if has_bias else None
        out = F.conv2d(x, weight, bias, stride=s, padding=p, dilation=d, groups=g)
        grad_out = torch.randn(out.shape)
        out.backward(grad_out)
        t = {"x": x, "weight": weight}
        if has_bias:
            t["bias"] = bias
        t.update({"out": out, "grad_out": grad_out, "grad_x": x.grad,
                  "grad_weight": weight.grad})
        if has_bias:
            t["grad_bias"] = bias.grad
        cfg = {"op": "conv2d", "kernel": list(k), "stride": list(s),
               "padding": list(p), "dilation": list(d), "groups": g,
               "bias": has_bias}
        save(f"conv2d_{i}", t, cfg)


# ---------------------------------------------------------------------------
# 2. conv_transpose2d
# ---------------------------------------------------------------------------

CONVT_CASES = [
    # N, Cin, H, W, Cout, kernel, stride, padding, output_padding, dilation, groups, bias
    (2, 4, 4, 4, 3, (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1, True),
    (2, 4, 5, 5, 6, (3, 3), (1, 1), (1, 1), (0, 0), (1, 1), 2, False),
    (1, 3, 4, 5, 2, (3, 2), (2, 1), (2, 0), (1, 0), (2, 2), 1, True),
    (2, 4, 3, 4, 6, (4, 3), (2, 2), (1, 1), (1, 0), (1, 1), 2, True),
]


def make_conv_transpose2d():
    for i, (n, cin, h, w, cout, k, s, p, op, d, g, has_bias) in enumerate(CONVT_CASES):
        torch.manual_seed(200 + i)
        x = leaf(torch.randn(n, cin, h, w))
        weight = leaf(torch.randn(cin, cout // g, k[0], k[1]))
        bias = leaf(torch.randn(cout)) if has_bias else None
        out = F.conv_transpose2d(x, weight, bias, stride=s, padding=p,
                                 output_padding=op, groups=g, dilation=d)
        grad_out = torch.randn(out.shape)
        out.backward(grad_out)
        t = {"x": x, "weight": weight}
        if has_bias:
            t["bias"] = bias
        t.update({"out": out, "grad_out": grad_out, "grad_x": x.grad,
                  "grad_weight": weight.grad})
        if has_bias:
            t["grad_bias"] = bias.grad
        cfg = {"op": "conv_transpose2d", "kernel": list(k), "stride": list(s),
               "padding": list(p), "output_padding": list(op),
               "dilation": list(d), "groups": g, "bias": has_bias}
        save(f"conv_transpose2d_{i}", t, cfg)


# ---------------------------------------------------------------------------
# 3. pooling
# ---------------------------------------------------------------------------

POOL_CASES = [
    # op, input shape, kernel, stride, padding, ceil_mode, count_include_pad
    ("max_pool2d", (2, 3, 7, 7), 3, 2, 0, True, True),
    ("max_pool2d", (2, 3, 8, 8), 3, 2, 0, True, True),     # partial last window
    ("max_pool2d", (1, 2, 6, 6), 3, 2, 1, True, True),     # partial + padding
    ("max_pool2d", (1, 2, 7, 7), 2, 2, 0, True, True),     # odd size, ceil
    ("max_pool2d", (1, 2, 7, 7), 2, 2, 0, False, True),    # odd size, floor
    ("max_pool2d", (2, 2, 7, 6), (3, 2), (2, 1), (1, 0), False, True),
    ("avg_pool2d", (1, 2, 7, 7), 2, 2, 0, True, True),     # odd size, ceil
    ("avg_pool2d", (1, 2, 7, 7), 2, 2, 0, False, True),
    ("avg_pool2d", (1, 2, 6, 6), 3, 2, 1, True, True),     # window past padding
    ("avg_pool2d", (1, 2, 6, 6), 3, 2, 1, True, False),
    ("avg_pool2d", (2, 3, 7, 7), 3, 2, 1, False, True),
    ("avg_pool2d", (2, 3, 7, 7), 3, 2, 1, False, False),
    ("avg_pool2d", (2, 3, 8, 8), 3, 2, 0, True, True),     # partial, no padding
    ("min_pool2d", (2, 3, 8, 8), 3, 2, 0, True, True),
    ("min_pool2d", (1, 2, 6, 6), 3, 2, 1, True, True),
    ("min_pool2d", (1, 2, 7, 7), 2, 2, 0, False, True),
]


def make_pool():
    for i, (op, shape, k, s, p, ceil, cip) in enumerate(POOL_CASES):
        torch.manual_seed(300 + i)
        k, s, p = pair(k), pair(s), pair(p)
        x = leaf(torch.randn(shape))
        if op == "max_pool2d":
            out = F.max_pool2d(x, k, s, p, ceil_mode=ceil)
        elif op == "min_pool2d":
            out = -F.max_pool2d(-x, k, s, p, ceil_mode=ceil)
        else:
            out = F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=cip)
        grad_out = torch.randn(out.shape)
        out.backward(grad_out)
        cfg = {"op": op, "kernel": k, "stride": s, "padding": p,
               "ceil_mode": ceil, "count_include_pad": cip}
        save(f"pool_{i}", {"x": x, "out": out, "grad_out": grad_out,
                           "grad_x": x.grad}, cfg)

    adaptive = [((2, 3, 7, 7), (1, 1)), ((2, 3, 7, 7), (3, 3)),
                ((2, 2, 5, 7), (2, 3)), ((1, 3, 6, 6), (4, 4))]
    for i, (shape, osz) in enumerate(adaptive):
        torch.manual_seed(350 + i)
        x = leaf(torch.randn(shape))
        out = F.adaptive_avg_pool2d(x, osz)
        grad_out = torch.randn(out.shape)
        out.backward(grad_out)
        cfg = {"op": "adaptive_avg_pool2d", "output_size": list(osz)}
        save(f"adaptive_avg_pool_{i}", {"x": x, "out": out, "grad_out": grad_out,
                                        "grad_x": x.grad}, cfg)


def same_margins(size_h, size_w, kernel, stride):
    """TensorFlow's SAME padding: output ceil(size / stride), the odd pixel at the bottom/right."""
    def total(size):
        return max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    h, w = total(size_h), total(size_w)
    return [h // 2, w // 2, h - h // 2, w - w // 2]


def make_pad():
    # (shape, [top, left, bottom, right] or ("same", kernel, stride), value); negative margins crop.
    cases = [((2, 3, 5, 6), [1, 0, 0, 2], 0.0),
             ((2, 2, 6, 5), [-1, -1, 1, 1], 0.0),        # NASNet's one-pixel shift
             ((1, 3, 7, 7), ("same", 3, 2), -2.5),
             ((1, 2, 8, 6), ("same", 7, 2), 0.0),
             ((2, 2, 7, 9), [-2, 1, -1, -3], 1.5)]
    for i, (shape, margins, value) in enumerate(cases):
        torch.manual_seed(380 + i)
        x = leaf(torch.randn(shape))
        cfg = {"op": "pad", "value": value}
        if margins[0] == "same":
            cfg["same"] = [margins[1], margins[2]]
            margins = same_margins(shape[2], shape[3], margins[1], margins[2])
        top, left, bottom, right = margins
        cfg["margins"] = margins
        out = F.pad(x, (left, right, top, bottom), value=value)
        grad_out = torch.randn(out.shape)
        out.backward(grad_out)
        save(f"pad_{i}", {"x": x, "out": out, "grad_out": grad_out, "grad_x": x.grad}, cfg)


# ---------------------------------------------------------------------------
# 4. batch norm
# ---------------------------------------------------------------------------

def _batchnorm_case(name, seed, module_cls, shape, training, eps):
    torch.manual_seed(seed)
    c = shape[1]
    bn = module_cls(c, eps=eps, momentum=0.1)
    with torch.no_grad():
        bn.weight.copy_(torch.randn(c))
        bn.bias.copy_(torch.randn(c))
        bn.running_mean.copy_(torch.randn(c) * 0.5)
        bn.running_var.copy_(torch.rand(c) + 0.5)
    rm0 = bn.running_mean.clone()
    rv0 = bn.running_var.clone()
    x = leaf(torch.randn(shape) * 2 + 1)
    bn.train(training)
    out = bn(x)
    grad_out = torch.randn(out.shape)
    out.backward(grad_out)
    t = {"x": x, "weight": bn.weight, "bias": bn.bias,
         "running_mean_before": rm0, "running_var_before": rv0,
         "out": out, "grad_out": grad_out, "grad_x": x.grad,
         "grad_weight": bn.weight.grad, "grad_bias": bn.bias.grad,
         "running_mean_after": bn.running_mean.clone(),
         "running_var_after": bn.running_var.clone()}
    cfg = {"op": "batch_norm", "module": module_cls.__name__,
           "training": training, "eps": eps, "momentum": 0.1}
    save(name, t, cfg)


def make_batchnorm():
    _batchnorm_case("batchnorm_train", 400, nn.BatchNorm2d, (3, 4, 5, 5), True, 1e-5)
    _batchnorm_case("batchnorm_eval", 401, nn.BatchNorm2d, (3, 4, 5, 5), False, 1e-5)
    _batchnorm_case("batchnorm1d_train", 402, nn.BatchNorm1d, (6, 5), True, 1e-5)
    _batchnorm_case("batchnorm_train_eps1e-3", 403, nn.BatchNorm2d, (3, 4, 5, 5), True, 1e-3)


# ---------------------------------------------------------------------------
# 5. unary activations and softmax
# ---------------------------------------------------------------------------

def make_unary():
    fns = {"relu": torch.relu, "sigmoid": torch.sigmoid,
           "tanh": torch.tanh, "silu": F.silu}
    for j, (name, fn) in enumerate(fns.items()):
        torch.manual_seed(500 + j)
        x = leaf(torch.randn(2, 3, 4, 4))
        out = fn(x)
        grad_out = torch.randn(out.shape)
        out.backward(grad_out)
        save(f"unary_{name}", {"x": x, "out": out, "grad_out": grad_out,
                               "grad_x": x.grad}, {"op": name})

    # ReLU6 on values spread over both clipping points (MobileNet).
    torch.manual_seed(505)
    x = leaf(torch.randn(2, 3, 4, 4) * 5)
    out = F.relu6(x)
    grad_out = torch.randn(out.shape)
    out.backward(grad_out)
    save("unary_relu6", {"x": x, "out": out, "grad_out": grad_out, "grad_x": x.grad}, {"op": "relu6"})

    shapes = [(4, 7), (2, 3, 4, 5)]
    for name, fn in (("softmax", F.softmax), ("log_softmax", F.log_softmax)):
        for i, shape in enumerate(shapes):
            torch.manual_seed(550 + 10 * (name == "log_softmax") + i)
            x = leaf(torch.randn(shape) * 2)
            out = fn(x, dim=1)
            grad_out = torch.randn(out.shape)
            out.backward(grad_out)
            save(f"{name}_{i}", {"x": x, "out": out, "grad_out": grad_out,
                                 "grad_x": x.grad}, {"op": name, "dim": 1})


# ---------------------------------------------------------------------------
# 6. local response norm
# ---------------------------------------------------------------------------

def make_lrn():
    cases = [(5, 1e-4, 0.75, 2.0), (4, 0.01, 0.5, 1.0)]
    for i, (size, alpha, beta, k) in enumerate(cases):
        torch.manual_seed(600 + i)
        x = leaf(torch.randn(2, 7, 4, 4) * 3)
        out = nn.LocalResponseNorm(size=size, alpha=alpha, beta=beta, k=k)(x)
        grad_out = torch.randn(out.shape)
        out.backward(grad_out)
        cfg = {"op": "lrn", "size": size, "alpha": alpha, "beta": beta, "k": k}
        save(f"lrn_{i}", {"x": x, "out": out, "grad_out": grad_out,
                          "grad_x": x.grad}, cfg)


# ---------------------------------------------------------------------------
# 7. broadcasting add / mul
# ---------------------------------------------------------------------------

BROADCAST_SHAPES = [((2, 3, 4, 4), (1, 3, 1, 1)),
                    ((2, 3, 4, 4), (2, 3, 1, 1)),
                    ((4, 5), (5,)),
                    ((2, 1, 3), (1, 4, 1))]


def make_broadcast():
    for opname, fn in (("add", torch.add), ("mul", torch.mul)):
        for i, (sa, sb) in enumerate(BROADCAST_SHAPES):
            torch.manual_seed(700 + 10 * (opname == "mul") + i)
            a = leaf(torch.randn(sa))
            b = leaf(torch.randn(sb))
            out = fn(a, b)
            grad_out = torch.randn(out.shape)
            out.backward(grad_out)
            save(f"{opname}_broadcast_{i}",
                 {"a": a, "b": b, "out": out, "grad_out": grad_out,
                  "grad_a": a.grad, "grad_b": b.grad}, {"op": opname})


# ---------------------------------------------------------------------------
# 8. losses
# ---------------------------------------------------------------------------

def make_losses():
    for i, ls in enumerate((0.0, 0.1)):
        torch.manual_seed(800 + i)
        logits = leaf(torch.randn(6, 5))
        target = torch.randint(0, 5, (6,))
        out = F.cross_entropy(logits, target, reduction="mean", label_smoothing=ls)
        out.backward()
        cfg = {"op": "cross_entropy", "label_smoothing": ls, "reduction": "mean"}
        save(f"cross_entropy_{i}",
             {"logits": logits, "target": target.to(torch.float32),
              "out": out, "grad_logits": logits.grad}, cfg)

    torch.manual_seed(810)
    inp = leaf(torch.randn(3, 4))
    target = torch.randn(3, 4)
    out = F.mse_loss(inp, target, reduction="mean")
    out.backward()
    save("mse", {"input": inp, "target": target, "out": out,
                 "grad_input": inp.grad}, {"op": "mse", "reduction": "mean"})


# ---------------------------------------------------------------------------
# 9. linear
# ---------------------------------------------------------------------------

def make_linear():
    torch.manual_seed(900)
    x = leaf(torch.randn(3, 5))
    weight = leaf(torch.randn(4, 5))
    bias = leaf(torch.randn(4))
    out = F.linear(x, weight, bias)
    grad_out = torch.randn(out.shape)
    out.backward(grad_out)
    save("linear_0", {"x": x, "weight": weight, "bias": bias, "out": out,
                      "grad_out": grad_out, "grad_x": x.grad,
                      "grad_weight": weight.grad, "grad_bias": bias.grad},
         {"op": "linear"})


# ---------------------------------------------------------------------------
# 10. optimizers
# ---------------------------------------------------------------------------

OPTIM_CASES = [
    ("sgd", "SGD", dict(lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False)),
    ("sgd_momentum", "SGD", dict(lr=0.1, momentum=0.9, dampening=0.0, weight_decay=1e-4, nesterov=False)),
    ("sgd_nesterov", "SGD", dict(lr=0.05, momentum=0.9, dampening=0.0, weight_decay=5e-4, nesterov=True)),
    ("adam", "Adam", dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False)),
    ("adam_wd", "Adam", dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False)),
    ("adamw", "AdamW", dict(lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False)),
]


def make_optim():
    for j, (name, cls_name, kw) in enumerate(OPTIM_CASES):
        torch.manual_seed(1000 + j)
        p0 = torch.randn(3, 4)
        grads = [torch.randn(3, 4) for _ in range(3)]
        p = nn.Parameter(p0.clone())
        opt = getattr(torch.optim, cls_name)([p], **kw)
        t = {"p0": p0}
        for step, g in enumerate(grads, 1):
            t[f"g{step}"] = g
        for step, g in enumerate(grads, 1):
            opt.zero_grad()
            p.grad = g.clone()
            opt.step()
            t[f"p{step}"] = p.detach().clone()
        cfg = {"op": cls_name, "steps": 3}
        for key, v in kw.items():
            cfg[key] = list(v) if isinstance(v, tuple) else v
        save(f"optim_{name}", t, cfg)


# ---------------------------------------------------------------------------
# 11. LR schedules
# ---------------------------------------------------------------------------

def make_schedules():
    base_lr, epochs = 0.1, 12
    sched = {
        "step": (torch.optim.lr_scheduler.StepLR, dict(step_size=4, gamma=0.1)),
        "multistep": (torch.optim.lr_scheduler.MultiStepLR, dict(milestones=[3, 7], gamma=0.2)),
        "cosine": (torch.optim.lr_scheduler.CosineAnnealingLR, dict(T_max=12, eta_min=0.001)),
        "linear_warmup": (torch.optim.lr_scheduler.LinearLR,
                          dict(start_factor=0.1, end_factor=1.0, total_iters=4)),
    }
    t = {}
    cfg = {"op": "lr_schedules", "base_lr": base_lr, "epochs": epochs}
    for key, (cls, kw) in sched.items():
        p = nn.Parameter(torch.zeros(1))
        opt = torch.optim.SGD([p], lr=base_lr)
        s = cls(opt, **kw)
        lrs = []
        for _ in range(epochs):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            s.step()
        t[key] = torch.tensor(lrs, dtype=torch.float32)
        cfg[key] = dict(kw, scheduler=cls.__name__)
    save("schedules", t, cfg)


# ---------------------------------------------------------------------------

def main():
    make_conv2d()
    make_conv_transpose2d()
    make_pool()
    make_pad()
    make_batchnorm()
    make_unary()
    make_lrn()
    make_broadcast()
    make_losses()
    make_linear()
    make_optim()
    make_schedules()

    total = 0
    for name, path, _ in WRITTEN:
        size = os.path.getsize(path)
        total += size
        print(f"{os.path.relpath(path, ROOT):55s} {size:8d} B")
    print(f"{len(WRITTEN)} files, total {total} B ({total / 1024:.1f} KiB)")
    assert total < 1_500_000, "fixtures too large"


if __name__ == "__main__":
    sys.exit(main())
