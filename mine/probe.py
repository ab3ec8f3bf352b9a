"""arbor's interface probe: a persistent child that instantiates mined
nn.Module classes and runs them on dummy tensors.

Protocol: one JSON request per stdin line, one JSON reply per line on the
original stdout. Mined code may print, so fd 1 is pointed at stderr and the
protocol uses a private duplicate. The parent enforces the time limit and
restarts this process after a hang or crash.
"""
import json
import math
import os
import resource
import sys
import traceback
import types

# A module that allocates without bound fails with MemoryError instead of
# taking the machine down; the parent sets the cap.
_mem = int(os.environ.get("ARBOR_PROBE_MEM_MB", "0"))
if _mem > 0:
    resource.setrlimit(resource.RLIMIT_AS, (_mem << 20, _mem << 20))

proto = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

torch.set_num_threads(1)


def reply(obj):
    proto.write(json.dumps(obj) + "\n")
    proto.flush()


def load(req, n):
    mod = types.ModuleType("arbor_mined_%d" % n)
    sys.modules[mod.__name__] = mod  # dataclasses look their module up here
    exec(compile(req["source"], "<mined %s>" % req["qualname"], "exec"), mod.__dict__)
    cls = mod.__dict__.get(req["name"])
    if cls is None:
        raise NameError("bundle does not define %s" % req["name"])
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise TypeError("%s is not an nn.Module subclass" % req["name"])
    return mod, cls


def count_macs(m, x):
    """Multiply-accumulates of the convolutions and linear layers, found by
    duck typing so that mined copies of torch's own layers count too."""
    total = [0]

    def prod(dims):
        n = 1
        for d in dims:
            n *= int(d)
        return n

    def conv_hook(mod, inp, out):
        spatial = inp[0].shape[2:] if getattr(mod, "transposed", False) else out.shape[2:]
        total[0] += mod.weight.numel() * prod(spatial)

    def linear_hook(mod, inp, out):
        total[0] += mod.weight.numel() * (out.numel() // out.shape[0] // max(1, out.shape[-1]))

    hooks = []
    for sub in m.modules():
        w = getattr(sub, "weight", None)
        if not isinstance(w, torch.Tensor) or isinstance(w, nn.parameter.UninitializedParameter):
            continue
        if hasattr(sub, "kernel_size") and hasattr(sub, "in_channels") and w.dim() >= 3:
            hooks.append(sub.register_forward_hook(conv_hook))
        elif hasattr(sub, "in_features") and w.dim() == 2:
            hooks.append(sub.register_forward_hook(linear_hook))
    try:
        y = m(x)
    finally:
        for h in hooks:
            h.remove()
    return y, total[0]


def run(cls, req, cin, cout, extra=None):
    kw = dict(req.get("kwargs") or {})
    if extra:
        kw.update(extra)
    if req.get("in_arg"):
        kw[req["in_arg"]] = cin
    if req.get("out_arg"):
        kw[req["out_arg"]] = cout
    torch.manual_seed(0)
    m = cls(**kw)
    m.eval()
    hw, batch = req["hw"], 2
    x = torch.randn(batch, cin, hw, hw)
    with torch.no_grad():
        y, macs = count_macs(m, x)
    if not torch.is_tensor(y):
        raise TypeError("forward returned %s, not a tensor" % type(y).__name__)
    if y.dim() != 4 or y.shape[0] != batch:
        raise ValueError("output shape %s is not (N, C, H, W)" % (tuple(y.shape),))
    params = sum(p.numel() for p in m.parameters())
    return [int(s) for s in y.shape[1:]], int(params), int(macs)


def probe(req, n):
    mod, cls = load(req, n)
    try:
        widths, hw = req["widths"], req["hw"]
        out = {"params": [], "macs": [], "shapes": []}
        for w in widths:
            shape, params, macs = run(cls, req, w, w)
            if shape[0] != w:
                raise ValueError("with width %d the output has %d channels; the width does not pass through" % (w, shape[0]))
            out["params"].append(params)
            out["macs"].append(macs)
            out["shapes"].append(shape)
        w0 = widths[0]
        out["preserves_shape"] = out["shapes"][0] == [w0, hw, hw]
        out["same_width"] = True
        if req.get("out_arg"):
            if not req.get("in_arg"):
                out["same_width"] = False
            else:
                try:
                    shape, _, _ = run(cls, req, w0, 2 * w0)
                    out["same_width"] = shape[0] != 2 * w0
                except Exception as e:  # in must equal out (e.g. an identity shortcut)
                    out["same_width_error"] = "%s: %s" % (type(e).__name__, e)
        out["stride_ok"] = False
        sa = req.get("stride_arg")
        if sa:
            try:
                shape, _, _ = run(cls, req, w0, w0, {sa: 2})
                half = int(math.ceil(hw / 2.0))
                out["stride_ok"] = shape[1] == half and shape[2] == half and shape[0] == w0
            except Exception as e:
                out["stride_error"] = "%s: %s" % (type(e).__name__, e)
        out["ok"] = True
        return out
    finally:
        sys.modules.pop(mod.__name__, None)


def main():
    reply({"ready": True, "torch": torch.__version__})
    n = 0
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        n += 1
        req = json.loads(line)
        try:
            res = probe(req, n)
        except BaseException as e:  # SystemExit from mined code included
            tb = traceback.extract_tb(e.__traceback__)
            where = ""
            if tb:
                where = " (at %s:%s)" % (tb[-1].filename, tb[-1].lineno)
            res = {"ok": False, "error": ("%s: %s" % (type(e).__name__, e))[:500] + where}
        res["id"] = req["id"]
        reply(res)


if __name__ == "__main__":
    main()
