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
import signal
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


def count_macs(m, x, extra_args=()):
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
        y = m(x, *extra_args)
    finally:
        for h in hooks:
            h.remove()
    return y, total[0]


# The layouts a module may expect, tried in this order: the tree's own
# NCHW first, then (B, N, C) tokens, channels-last and (B, C, L).
LAYOUTS = ["nchw", "pooled", "tokens", "nhwc", "ncl", "vec"]

# Kinds of callable arguments by layout: where the channels sit decides
# which norm fits.
NORM_KIND = {"nchw": "norm", "pooled": "norm", "tokens": "token-norm", "nhwc": "token-norm", "ncl": "seq-norm", "vec": "seq-norm"}

_preambles = {}


def callables_for(req, layout, optional=False):
    """Constructor values for callable arguments (norm_layer=...), and the
    table names used, from the table the parent sent. Arguments with a
    default of their own are passed only when optional is set."""
    opt = set(req.get("optional") or [])
    cal = {a: k for a, k in (req.get("callables") or {}).items() if (a in opt) == optional}
    if not cal:
        return {}, {}, {}
    src = req["preamble"]
    ns = _preambles.get(src)
    if ns is None:
        ns = {}
        exec(compile(src, "<arbor callables>", "exec"), ns)
        _preambles[src] = ns
    kw, names, kinds = {}, {}, {}
    for arg, kind in sorted(cal.items()):
        if kind == "norm":
            kind = NORM_KIND[layout]
        name = req["callable_defaults"].get(kind)
        if not name:
            raise TypeError("no %s layer for %s in layout %s" % (kind, arg, layout))
        kw[arg] = eval(req["callable_exprs"][name], ns)
        names[arg], kinds[arg] = name, kind
    return kw, names, kinds


def make_input(layout, batch, c, hw):
    if layout == "tokens":
        return torch.randn(batch, hw * hw, c)
    if layout == "nhwc":
        return torch.randn(batch, hw, hw, c)
    if layout == "ncl":
        return torch.randn(batch, c, hw * hw)
    if layout == "vec":
        return torch.randn(batch, c)
    return torch.randn(batch, c, hw, hw)


def to_chw(layout, y, batch, hw):
    """The output as (C, H, W), or an error when the layout is not kept."""
    if not torch.is_tensor(y):
        raise TypeError("forward returned %s, not a tensor" % type(y).__name__)
    want = {"tokens": 3, "ncl": 3, "pooled": 2, "vec": 2}.get(layout, 4)
    if y.dim() != want or y.shape[0] != batch:
        raise ValueError("output shape %s is not %s" % (tuple(y.shape), {"nchw": "(N, C, H, W)", "pooled": "(N, C)", "tokens": "(N, L, C)", "nhwc": "(N, H, W, C)", "ncl": "(N, C, L)", "vec": "(N, C)"}[layout]))
    if layout == "vec":
        # Features (N, C) in and out: a module after the global pool.
        return [int(y.shape[1]), hw, hw]
    if layout == "pooled":
        # A pooling head: NCHW in, (N, C) out, used as (N, C, 1, 1).
        return [int(y.shape[1]), 1, 1]
    if layout == "tokens":
        if y.shape[1] != hw * hw:
            raise ValueError("token count changed from %d to %d" % (hw * hw, y.shape[1]))
        return [int(y.shape[2]), hw, hw]
    if layout == "ncl":
        if y.shape[2] != hw * hw:
            raise ValueError("sequence length changed from %d to %d" % (hw * hw, y.shape[2]))
        return [int(y.shape[1]), hw, hw]
    if layout == "nhwc":
        return [int(y.shape[3]), int(y.shape[1]), int(y.shape[2])]
    return [int(s) for s in y.shape[1:]]


def run(cls, req, layout, cin, cout, extra=None):
    kw = dict(req.get("kwargs") or {})
    ckw, _, _ = callables_for(req, layout)
    kw.update(ckw)
    if extra:
        kw.update(extra)
    if req.get("in_arg"):
        kw[req["in_arg"]] = cin
    if req.get("out_arg") and cout is not None:
        kw[req["out_arg"]] = cout
    torch.manual_seed(0)
    m = cls(**kw)
    m.eval()
    hw, batch = req["hw"], 2
    x = make_input(layout, batch, cin, hw)
    size = req.get("size_args")
    if size and layout != "tokens":
        raise ValueError("a module taking the spatial size besides its input is probed on tokens only")
    extra_args = {"size": ((hw, hw),), "hw": (hw, hw)}.get(size, ())
    with torch.no_grad():
        y, macs = count_macs(m, x, extra_args)
    shape = to_chw(layout, y, batch, hw)
    params = sum(p.numel() for p in m.parameters())
    return shape, int(params), int(macs)


def lcm(a, b):
    return a * b // math.gcd(a, b)


def scaled(widths, d):
    """The smallest multiples of d at or above the widths, increasing."""
    out = []
    for w in widths:
        v = -(-w // d) * d
        if out and v <= out[-1]:
            v = out[-1] + d
        out.append(v)
    return out


def measure(cls, req, layout, widths):
    """Runs the module at three widths and works out how its output width
    follows: equal, a ratio of the output argument, or linear in the input."""
    out = {"params": [], "macs": [], "shapes": [], "ratio": 1, "identity_ratio": False}
    w0 = widths[0]
    has_out = bool(req.get("out_arg"))
    ratio = 1
    try:
        shape, _, _ = run(cls, req, layout, w0, w0 if has_out else None)
        if has_out and shape[0] != w0 and shape[0] % w0 == 0:
            ratio = shape[0] // w0
    except Exception as e:
        if not has_out:
            raise
        # ResNet's Bottleneck with its identity shortcut: the output is
        # expansion * planes and must equal the input width.
        first = e
        for k in (4, 2):
            if w0 % k:
                continue
            try:
                shape, _, _ = run(cls, req, layout, w0, w0 // k)
            except Exception:
                continue
            if shape[0] == w0:
                ratio = k
                out["identity_ratio"] = True
                break
        else:
            raise first
    out["ratio"] = ratio
    for w in widths:
        if w % ratio:
            raise ValueError("width %d is not a multiple of the output ratio %d" % (w, ratio))
        shape, params, macs = run(cls, req, layout, w, (w // ratio) if has_out else None)
        out["params"].append(params)
        out["macs"].append(macs)
        out["shapes"].append(shape)
    cs = [s[0] for s in out["shapes"]]
    if cs != list(widths):
        if has_out:
            raise ValueError("with width %d the output has %d channels; the width does not pass through" % (widths[0], cs[0]))
        # Output width linear in the input: c = a + b * w, integers.
        b1 = (cs[1] - cs[0]) / float(widths[1] - widths[0])
        b2 = (cs[2] - cs[1]) / float(widths[2] - widths[1])
        a = cs[0] - b1 * widths[0]
        if abs(b1 - b2) > 1e-9 or b1 < 0 or abs(a - round(a)) > 1e-9 or abs(b1 - round(b1)) > 1e-9:
            raise ValueError("output channels %s at widths %s follow no linear rule" % (cs, list(widths)))
        out["out_linear"] = [float(round(a)), float(round(b1))]
    return out


def probe_layout(cls, req, layout):
    hw = req["hw"]
    base = list(req["widths"])
    d = 1
    for v in (req.get("divisors") or {}).values():
        if int(v) > 1:
            d = lcm(d, int(v))
    tries = [d] + [lcm(d, k) for k in (16, 32, 64, 128) if lcm(d, k) != d]
    first = None
    for i, dd in enumerate(tries):
        widths = scaled(base, dd) if dd > 1 else base
        try:
            try:
                out = measure(cls, req, layout, widths)
            except ValueError as e:
                if not req.get("out_arg") or "channels" not in str(e) and "ratio" not in str(e):
                    raise
                # The output width does not follow the width argument (a
                # head with a fixed output): fix the argument, measure the
                # output as a function of the input.
                fixed = dict(req)
                fixed["kwargs"] = dict(req.get("kwargs") or {})
                fixed["kwargs"][req["out_arg"]] = 16
                fixed["out_arg"] = ""
                out = measure(cls, fixed, layout, widths)
                out["fixed_out_arg"] = req["out_arg"]
                req = fixed
        except Exception as e:
            # Only a divisibility complaint is worth larger width multiples.
            if first is None:
                first = e
            if "divisible" not in str(e) and "divide" not in str(e):
                raise first
            continue
        out["widths"] = widths
        out["width_multiple"] = dd if dd != d else 1
        break
    else:
        raise first
    w0 = widths[0]
    ratio = out["ratio"]
    stride = int((req.get("kwargs") or {}).get(req.get("stride_arg") or "", 1) or 1)
    want = -(-hw // stride)
    s0 = out["shapes"][0]
    cout0 = (w0 // ratio) if req.get("out_arg") else None
    if s0[1] != want or s0[2] != want:
        # A fixed change of H and W: a downsampling factor (patch merging,
        # a /4 stem) or a fixed output size (a global pool). Which one is
        # told by a second input size; anything else the tree cannot express.
        req2 = dict(req)
        req2["hw"] = 2 * hw
        s2, _, _ = run(cls, req2, layout, w0, cout0)
        h1, h2 = s0[1], s2[1]
        why = "output %dx%d from input %dx%d and %dx%d from %dx%d: a change of H and W the tree cannot express" % (s0[1], s0[2], hw, hw, s2[1], s2[2], 2 * hw, 2 * hw)
        if s0[1] != s0[2] or s2[1] != s2[2] or stride != 1:
            raise ValueError(why)
        if h1 == h2:
            out["out_hw"] = h1
        elif h2 - 2 * hw == h1 - hw:
            # Padding (+2) or an unpadded kernel (-2): a fixed change.
            out["hw_add"] = h1 - hw
        elif h1 > 0 and hw % h1 == 0 and (2 * hw) % h2 == 0 and hw // h1 == (2 * hw) // h2 and hw // h1 >= 2:
            out["downsample"] = hw // h1
        else:
            raise ValueError(why)
    out["preserves_shape"] = s0 == [w0, hw, hw]
    out["same_width"] = True
    if req.get("out_arg"):
        if not req.get("in_arg"):
            out["same_width"] = False
        elif not out["identity_ratio"]:
            try:
                shape, _, _ = run(cls, req, layout, w0, 2 * w0 // ratio)
                out["same_width"] = shape[0] != 2 * w0
            except Exception as e:  # in must equal out (e.g. an identity shortcut)
                out["same_width_error"] = "%s: %s" % (type(e).__name__, e)
    out["stride_ok"] = False
    sa = req.get("stride_arg")
    if sa and layout in ("nchw", "nhwc") and not out.get("downsample") and not out.get("out_hw") and not out.get("hw_add"):
        try:
            shape, _, _ = run(cls, req, layout, w0, (w0 // ratio) if req.get("out_arg") else None, {sa: 2})
            half = int(math.ceil(hw / 2.0))
            out["stride_ok"] = shape[1] == half and shape[2] == half and shape[0] == w0
        except Exception as e:
            out["stride_error"] = "%s: %s" % (type(e).__name__, e)
    _, names, kinds = callables_for(req, layout)
    required = sorted(names)
    # A callable with a default of its own keeps it; the table's entry of
    # its kind is offered as an alternative only if the module runs with it.
    okw, onames, okinds = callables_for(req, layout, optional=True)
    for arg in sorted(okw):
        try:
            run(cls, req, layout, w0, (w0 // ratio) if req.get("out_arg") else None, {arg: okw[arg]})
        except Exception:
            continue
        names[arg], kinds[arg] = onames[arg], okinds[arg]
    out["callables_required"] = required
    out["callables"] = names
    out["callable_kinds"] = kinds
    out["layout"] = layout
    out["ok"] = True
    return out


# Errors that say the dummy input is too small for the module (a 16x16
# patch embedding): worth one more try at a larger input.
TOO_SMALL = ("Kernel size can't be greater", "must be divisible by patch size", "Input height", "Input image height")


def probe_layouts(cls, req):
    first = None
    # A module that takes the spatial size besides its input is a token block.
    for layout in (["tokens"] if req.get("size_args") else LAYOUTS):
        try:
            out = probe_layout(cls, req, layout)
            out["hw"] = req["hw"]
            return out
        except Exception as e:
            if first is None:
                first = e
            # A constructor that fails fails in every layout.
            if isinstance(e, TypeError) and "__init__" in str(e):
                break
    raise first


def probe(req, n):
    mod, cls = load(req, n)
    try:
        try:
            try:
                return probe_layouts(cls, req)
            except Exception as e:
                # norm_layer=None that the module calls anyway: pass the
                # table's default as if the argument were required.
                none = set(req.get("none_default") or [])
                if not none or "'NoneType' object is not callable" not in str(e):
                    raise
                req = dict(req)
                req["optional"] = [a for a in (req.get("optional") or []) if a not in none]
                return probe_layouts(cls, req)
        except Exception as e:
            if not any(t in str(e) for t in TOO_SMALL) or req["hw"] >= 32:
                raise
            big = dict(req)
            big["hw"] = 32
            return probe_layouts(cls, big)
    finally:
        sys.modules.pop(mod.__name__, None)


class SoftTimeout(BaseException):
    pass


def _alarm(signum, frame):
    raise SoftTimeout("probe hung past its soft time limit of CPU time")


signal.signal(signal.SIGPROF, _alarm)


def main():
    reply({"ready": True, "torch": torch.__version__})
    n = 0
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        n += 1
        req = json.loads(line)
        # A soft limit inside the child: a module that takes too long (a
        # whole model built at its full default size) fails alone without
        # the parent having to kill and restart this process.
        # The limit counts this process's CPU time (ITIMER_PROF), so a busy
        # machine does not fail modules that are merely waiting for a core.
        soft = float(req.get("soft_timeout") or 0)
        if soft > 0:
            signal.setitimer(signal.ITIMER_PROF, soft)
        try:
            res = probe(req, n)
        except BaseException as e:  # SystemExit from mined code included
            tb = traceback.extract_tb(e.__traceback__)
            where = ""
            if tb:
                where = " (at %s:%s)" % (tb[-1].filename, tb[-1].lineno)
            res = {"ok": False, "error": ("%s: %s" % (type(e).__name__, e))[:500] + where}
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        res["id"] = req["id"]
        reply(res)


if __name__ == "__main__":
    main()
