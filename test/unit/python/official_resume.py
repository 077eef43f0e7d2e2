"""Checks a checkpoint-last.pth written by `jit export --official` with real PyTorch, doing what the official
main_jit.py does with --resume: torch.load, load_state_dict of the model, the EMA lists taken from model_ema1/2 in
named_parameters() order, torch.optim.AdamW over misc.add_weight_decay's groups loading the optimizer state, and
training restarting at epoch + 1; then one optimizer step. The module is built with the parameter names and
shapes of the exported model (the official JiT classes are not needed to check names, shapes and order), and
every tensor is compared with the sums JiT Explorer expects.

Usage:
  official_resume.py resume <checkpoint-last.pth> <expect.json>   prints a JSON report
  official_resume.py load <file.pth>                               prints the loaded object as JSON
"""
import argparse
import json
import sys

import torch


def plain(v):
    if isinstance(v, torch.Tensor):
        return {"tensor": list(v.shape), "dtype": str(v.dtype), "values": v.flatten().tolist()}
    if isinstance(v, argparse.Namespace):
        return {"namespace": {k: plain(x) for k, x in vars(v).items()}}
    if isinstance(v, dict):
        return {"dict" if type(v) is dict else type(v).__name__: [[k, plain(x)] for k, x in v.items()]}
    if isinstance(v, tuple):
        return {"tuple": [plain(x) for x in v]}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if isinstance(v, float):
        return {"float": v}
    return v


def build_module(specs):
    """An nn.Module tree whose state dict has exactly these names, shapes and order."""
    root = torch.nn.Module()
    for spec in specs:
        *path, leaf = spec["name"].split(".")
        m = root
        for part in path:
            if not hasattr(m, part):
                m.add_module(part, torch.nn.Module())
            m = getattr(m, part)
        m.register_parameter(leaf, torch.nn.Parameter(torch.zeros(spec["shape"]), requires_grad=spec["trainable"]))
    return root


def add_weight_decay(model, weight_decay=0):
    """misc.add_weight_decay of the official code."""
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if len(param.shape) == 1 or name.endswith(".bias"):
            no_decay.append(param)
        else:
            decay.append(param)
    return [{"params": no_decay, "weight_decay": 0.0}, {"params": decay, "weight_decay": weight_decay}]


def close(a, b):
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


def resume(path, expect_path):
    expect = json.load(open(expect_path))
    ck = torch.load(path, map_location="cpu")
    report = {"keys": sorted(ck.keys())}
    names = [s["name"] for s in expect["specs"]]

    model = build_module(expect["specs"])
    assert list(model.state_dict().keys()) == names, "the module's state dict order is the export's"
    for section in ("model", "model_ema1", "model_ema2"):
        sd = ck[section]
        assert list(sd.keys()) == names, "%s holds the state dict keys in order" % section
        probe = build_module(expect["specs"])
        probe.load_state_dict(sd, strict=True)
        for name, t in sd.items():
            assert t.dtype == torch.float32 and t.is_contiguous(), name
            s = t.double().sum().item()
            assert close(s, expect["sums"][section][name]), "%s.%s: sum %r, expected %r" % (section, name, s, expect["sums"][section][name])
    report["strict_loads"] = 3

    # main_jit.py --resume, step by step
    model.load_state_dict(ck["model"])
    ema_params1 = [ck["model_ema1"][name] for name, _ in model.named_parameters()]
    ema_params2 = [ck["model_ema2"][name] for name, _ in model.named_parameters()]
    assert len(ema_params1) == len(ema_params2) == len(names)
    args = ck["args"]
    assert isinstance(args, argparse.Namespace)
    optimizer = torch.optim.AdamW(add_weight_decay(model, args.weight_decay), lr=args.lr, betas=(0.9, 0.95))
    optimizer.load_state_dict(ck["optimizer"])
    start_epoch = ck["epoch"] + 1

    named = dict(model.named_parameters())
    with_state = 0
    for name, p in named.items():
        if not p.requires_grad:
            assert p not in optimizer.state
            continue
        st = optimizer.state.get(p)
        if name not in expect["sums"]["exp_avg"]:
            assert not st, "%s was never updated and has no state" % name
            continue
        with_state += 1
        assert st["exp_avg"].shape == p.shape and st["exp_avg_sq"].shape == p.shape, name
        assert close(st["exp_avg"].double().sum().item(), expect["sums"]["exp_avg"][name]), "exp_avg of " + name
        assert close(st["exp_avg_sq"].double().sum().item(), expect["sums"]["exp_avg_sq"][name]), "exp_avg_sq of " + name
        assert float(st["step"]) == expect["adamStep"], name
    groups = [[id(p) for p in g["params"]] for g in optimizer.param_groups]
    report["group_sizes"] = [len(g) for g in groups]
    report["group_weight_decay"] = [g["weight_decay"] for g in optimizer.param_groups]
    report["betas"] = list(optimizer.param_groups[0]["betas"])

    before = {n: p.detach().clone() for n, p in named.items()}
    torch.manual_seed(0)
    for p in model.parameters():
        if p.requires_grad:
            p.grad = torch.randn_like(p)
    optimizer.step()
    changed = sum(1 for n, p in named.items() if not torch.equal(p, before[n]))
    assert all(torch.isfinite(p).all() for p in model.parameters())
    steps = sorted({float(optimizer.state[p]["step"]) for p in model.parameters() if p.requires_grad})
    report.update({
        "start_epoch": start_epoch,
        "params_with_state": with_state,
        "changed_by_step": changed,
        "steps_after": steps,
        "args": {k: [type(v).__name__, v] for k, v in vars(args).items()},
    })
    print(json.dumps(report))


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "resume":
        resume(sys.argv[2], sys.argv[3])
    elif mode == "load":
        print(json.dumps(plain(torch.load(sys.argv[2], map_location="cpu"))))
    else:
        sys.exit("unknown mode " + mode)
