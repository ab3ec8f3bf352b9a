#!/usr/bin/env python3
"""arbor's embedded trainer: trains one candidate and writes a train.Result.

Run in a job directory that holds job.json and candidate.py:

    python3 trainer.py --job job.json --out result.json   # one job
    python3 trainer.py --serve                            # wait for one job on stdin
    python3 trainer.py --gate                             # dry-run gate server

The job contract is the Go type train.Job; the result is train.Result.
Progress goes to stdout as JSON lines {"progress": {...}}. result.json is
written atomically (tmp + rename) and the process exits 0 even when the
candidate failed; a missing result.json means the trainer itself crashed.
The untrusted candidate runs inside this process, so the caller must run it
with a scrubbed environment, its own process group and a time limit.
"""
import argparse
import contextlib
import gc
import gzip
import json
import math
import os
import pickle
import random
import re
import resource
import signal
import sys
import threading
import time
import traceback
import types

T0 = time.time()  # wall time includes importing torch

# cuBLAS is deterministic only with a fixed workspace, and the variable must be
# set before CUDA initialises.
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

# torch's own thread count, restored for a job that asks for the default
# after one that set its own.
DEFAULT_THREADS = torch.get_num_threads()


# ---------------------------------------------------------------- failures

class CandidateError(Exception):
    """A failure of the candidate, already classified."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


SHAPE_PATTERNS = re.compile(
    r"shape|size mismatch|sizes of tensors|size of tensor|must match the size|"
    r"dimension|expected input|expected .*channels|channels, but got|kernel size|"
    r"input size|output size|given groups|cannot be multiplied|mat1|mat2|"
    r"view size|expected more than 1 value per channel|out of bounds|"
    r"padded input size|not enough values|too many indices|invalid for input of size|"
    r"expected \d+d|expected \d+ dimensions|batch1|batch2|broadcast",
    re.IGNORECASE,
)


def is_oom(exc):
    if isinstance(exc, MemoryError):
        return True
    oom_type = getattr(torch.cuda, "OutOfMemoryError", None)
    if oom_type is not None and isinstance(exc, oom_type):
        return True
    msg = str(exc)
    return isinstance(exc, RuntimeError) and (
        "out of memory" in msg
        or "can't allocate memory" in msg
        or "not enough memory" in msg
    )


def is_shape(exc):
    return isinstance(exc, (RuntimeError, ValueError, IndexError, TypeError)) and bool(
        SHAPE_PATTERNS.search(str(exc))
    )


def error_text(exc, limit=4000):
    """The exception first (what a report shows), then the traceback's tail."""
    head = str(exc) if isinstance(exc, CandidateError) else "%s: %s" % (type(exc).__name__, exc)
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if len(tb) > limit:
        tb = "..." + tb[-limit:]
    return head + "\n" + tb


def classify(exc, phase):
    """Maps an exception raised in phase (build | forward | train) to a status."""
    if isinstance(exc, CandidateError):
        return exc.status
    if is_oom(exc):
        return "oom"
    if phase == "build":
        return "build-error"
    if is_shape(exc):
        return "shape-error"
    return "crashed"


# ---------------------------------------------------------------- candidate

def load_candidate(source, name="candidate"):
    """Executes the candidate source in a fresh module and builds Candidate()."""
    module = types.ModuleType(name)
    module.__file__ = name + ".py"
    sys.modules[name] = module
    exec(compile(source, name + ".py", "exec"), module.__dict__)
    cls = getattr(module, "Candidate", None)
    if cls is None:
        raise CandidateError("build-error", "candidate source defines no class Candidate")
    model = cls()
    if not isinstance(model, nn.Module):
        raise CandidateError("build-error", "Candidate() is %s, not an nn.Module" % type(model).__name__)
    return model


def count_params(model):
    return int(sum(p.numel() for p in model.parameters()))


def macs_hooks(model, acc):
    """Forward hooks that add each conv/linear layer's multiply-accumulates.

    FLOPs are reported as MACs per image, the convention of NAS-Bench-201 and
    the paper's 0.2 GFLOPs budget.
    """
    handles = []

    def conv_hook(mod, inp, out):
        k = 1
        for s in mod.kernel_size:
            k *= s
        per_out = (mod.in_channels // mod.groups) * k
        acc[0] += out.numel() // max(out.shape[0], 1) * per_out

    def linear_hook(mod, inp, out):
        acc[0] += out.numel() // max(out.shape[0], 1) * mod.in_features

    for m in model.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d)):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    return handles


def probe(model, input_shape, classes, device, batch=2, backward=True, count=True):
    """Forward (and backward) on a dummy batch; returns MACs per image when
    count, else 0.

    Raises CandidateError(shape-error) when the logits have the wrong shape.
    """
    acc = [0]
    handles = macs_hooks(model, acc) if count else []
    try:
        x = torch.randn(batch, *input_shape, device=device)
        model.train()
        out = model(x)
    finally:
        for h in handles:
            h.remove()
    if not isinstance(out, torch.Tensor):
        raise CandidateError("shape-error", "forward returned %s, want a tensor of logits" % type(out).__name__)
    if tuple(out.shape) != (batch, classes):
        raise CandidateError(
            "shape-error",
            "forward returned logits of shape %s, want (%d, %d)" % (tuple(out.shape), batch, classes),
        )
    if backward:
        out.float().sum().backward()
        model.zero_grad(set_to_none=True)
    return int(acc[0])


# ---------------------------------------------------------------- datasets

NORMS = {
    "mnist": ([0.1307], [0.3081]),
    "fashion-mnist": ([0.2860], [0.3530]),
    "cifar10": ([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]),
    "cifar100": ([0.5071, 0.4865, 0.4409], [0.2673, 0.2564, 0.2762]),
    "imagenet16-120": ([x / 255 for x in (122.68, 116.66, 104.01)], [x / 255 for x in (63.22, 61.26, 65.09)]),
}

# Standard augmentation: (crop padding, horizontal flip).
AUGMENT = {
    "mnist": (2, False),
    "fashion-mnist": (2, True),
    "cifar10": (4, True),
    "cifar100": (4, True),
    "imagenet16-120": (2, True),
    "synthetic": (0, False),
    "gratings": (0, False),
}

DEFAULT_PATHS = {
    "fashion-mnist": "/usr/share/datasets/fashion-mnist",
    "mnist": "/usr/share/datasets/mnist",
}


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 8:
        raise ValueError("%s: not an unsigned-byte IDX file" % path)
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    arr = np.frombuffer(bytearray(data), dtype=np.uint8, offset=4 + 4 * ndim)  # writable, as torch wants
    want = int(np.prod(dims))
    if arr.size != want:
        raise ValueError("%s: IDX header says %s (%d values) but holds %d" % (path, dims, want, arr.size))
    return arr.reshape(dims)


def find_file(root, names):
    for n in names:
        for cand in (n, n + ".gz"):
            p = os.path.join(root, cand)
            if os.path.exists(p):
                return p
    raise FileNotFoundError("%s: none of %s found (set dataset.path)" % (root, ", ".join(names)))


def load_idx_dataset(root):
    tx = read_idx(find_file(root, ["train-images-idx3-ubyte", "train-images.idx3-ubyte"]))
    ty = read_idx(find_file(root, ["train-labels-idx1-ubyte", "train-labels.idx1-ubyte"]))
    ex = read_idx(find_file(root, ["t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"]))
    ey = read_idx(find_file(root, ["t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"]))
    return tx[:, None], ty, ex[:, None], ey, 10


def unpickle(path):
    with open(path, "rb") as f:
        return pickle.load(f, encoding="bytes")


def getk(d, key):
    return d[key] if key in d else d[key.encode()]


def load_cifar(root, name):
    if name == "cifar10":
        base = root if os.path.exists(os.path.join(root, "data_batch_1")) else os.path.join(root, "cifar-10-batches-py")
        train = [unpickle(os.path.join(base, "data_batch_%d" % i)) for i in range(1, 6)]
        test = [unpickle(os.path.join(base, "test_batch"))]
        key, classes = "labels", 10
    else:
        base = root if os.path.exists(os.path.join(root, "train")) else os.path.join(root, "cifar-100-python")
        train = [unpickle(os.path.join(base, "train"))]
        test = [unpickle(os.path.join(base, "test"))]
        key, classes = "fine_labels", 100

    def stack(batches):
        x = np.concatenate([np.asarray(getk(b, "data"), dtype=np.uint8) for b in batches]).reshape(-1, 3, 32, 32)
        y = np.concatenate([np.asarray(getk(b, key), dtype=np.int64) for b in batches])
        return x, y

    tx, ty = stack(train)
    ex, ey = stack(test)
    return tx, ty, ex, ey, classes


def load_imagenet16(root, classes=120):
    """NAS-Bench-201's ImageNet16: train_data_batch_1..10 and val_data pickles,
    labels 1-based over 1000 classes; ImageNet16-120 keeps labels 1..120."""

    def read(names):
        xs, ys = [], []
        for n in names:
            d = unpickle(os.path.join(root, n))
            x = np.asarray(getk(d, "data"), dtype=np.uint8).reshape(-1, 3, 16, 16)
            y = np.asarray(getk(d, "labels"), dtype=np.int64)
            keep = (y >= 1) & (y <= classes)
            xs.append(x[keep])
            ys.append(y[keep] - 1)
        return np.concatenate(xs), np.concatenate(ys)

    tx, ty = read(["train_data_batch_%d" % i for i in range(1, 11)])
    ex, ey = read(["val_data"])
    return tx, ty, ex, ey, classes


def synthetic(input_shape, classes, n_train=2048, n_test=512):
    """A learnable dataset: one fixed random template per class plus noise.

    The data does not depend on the job seed, only the split and the training
    order do, like a real dataset."""
    g = np.random.default_rng(20260417)
    c, h, w = input_shape
    templates = g.normal(0, 1, size=(classes, c, h, w)).astype(np.float32)

    def make(n):
        y = g.integers(0, classes, size=n)
        x = templates[y] + g.normal(0, 1.5, size=(n, c, h, w)).astype(np.float32)
        return x, y.astype(np.int64)

    tx, ty = make(n_train)
    ex, ey = make(n_test)
    return tx, ty, ex, ey, classes


def gratings(input_shape, classes, n_train=4096, n_test=1024):
    """A small learnable dataset in which capacity matters (the smoke search's).

    Each class is an oriented texture: a grating of the class's orientation
    and frequency, at a random phase, under noise. The phase is random, so
    the class is not in any pixel's expected value and a linear model stays
    near chance; neighbouring classes differ by a few degrees, so telling
    them apart takes enough filters and nonlinear depth, which is what
    deeper or wider networks buy. The data does not depend on the job seed,
    only the split and the training order do, like a real dataset."""
    g = np.random.default_rng(20260417)
    c, h, w = input_shape
    n_freq = 2 if classes >= 4 else 1
    n_orient = (classes + n_freq - 1) // n_freq
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    noise = 2.0  # at this level a one-layer net is at chance and a three-stage one near 100%

    def make(n):
        y = g.integers(0, classes, size=n)
        theta = (y % n_orient) * np.pi / n_orient
        freq = np.where(y // n_orient == 0, 0.12, 0.25).astype(np.float32)
        phase = g.uniform(0, 2 * np.pi, size=n)
        arg = 2 * np.pi * freq[:, None, None] * (np.cos(theta)[:, None, None] * xx + np.sin(theta)[:, None, None] * yy) + phase[:, None, None]
        x = np.sin(arg)[:, None].repeat(c, axis=1) + g.normal(0, noise, size=(n, c, h, w))
        return x.astype(np.float32), y.astype(np.int64)

    tx, ty = make(n_train)
    ex, ey = make(n_test)
    return tx, ty, ex, ey, classes


# Decoded datasets of this process, by (name, path, input, classes): a
# resident trainer decodes its data once, not once per job. The arrays are
# raw (uint8 for the image datasets) and never written to.
DATA_CACHE = {}


def load_dataset(spec, input_shape, classes):
    name = spec.get("name") or "fashion-mnist"
    path = spec.get("path") or DEFAULT_PATHS.get(name, "")
    key = (name, path, tuple(input_shape), int(classes))
    if key not in DATA_CACHE:
        DATA_CACHE.clear()  # one dataset at a time: a pool trains on one
        DATA_CACHE[key] = decode_dataset(name, path, input_shape, classes)
    return DATA_CACHE[key]


def decode_dataset(name, path, input_shape, classes):
    if name in ("fashion-mnist", "mnist"):
        tx, ty, ex, ey, k = load_idx_dataset(path)
    elif name in ("cifar10", "cifar100"):
        if not path:
            raise ValueError("dataset %s needs dataset.path" % name)
        tx, ty, ex, ey, k = load_cifar(path, name)
    elif name == "imagenet16-120":
        if not path:
            raise ValueError("dataset imagenet16-120 needs dataset.path")
        tx, ty, ex, ey, k = load_imagenet16(path)
    elif name == "synthetic":
        tx, ty, ex, ey, k = synthetic(input_shape, classes)
    elif name == "gratings":
        tx, ty, ex, ey, k = gratings(input_shape, classes)
    else:
        raise ValueError("unknown dataset %r (fashion-mnist, mnist, cifar10, cifar100, imagenet16-120, synthetic, gratings)" % name)
    if tuple(tx.shape[1:]) != tuple(input_shape):
        raise ValueError("dataset %s has images of shape %s but the job's input is %s" % (name, tuple(tx.shape[1:]), tuple(input_shape)))
    if k != classes:
        raise ValueError("dataset %s has %d classes but the job's classes is %d" % (name, k, classes))

    return tx, torch.from_numpy(ty.astype(np.int64)), ex, torch.from_numpy(ey.astype(np.int64)), name


def to_tensor(x, name, idx=None):
    """Selects rows idx of the raw images, then converts only those to
    normalised floats: converting all of Fashion-MNIST costs about a second,
    which a 10,000-image proxy job should not pay."""
    if idx is not None:
        x = x[idx.numpy()]
    t = torch.from_numpy(np.ascontiguousarray(x))
    if t.dtype == torch.uint8:
        mean, std = NORMS[name]
        m = torch.tensor(mean).view(1, -1, 1, 1) * 255.0
        s = torch.tensor(std).view(1, -1, 1, 1) * 255.0
        return t.float().sub_(m).div_(s)
    # Generated data is float already; a copy keeps a candidate's in-place
    # ops (ReLU(inplace=True) on its input) away from the cached arrays.
    return t.float().clone()


def split(n, val_split, subset, seed):
    """Deterministic train/val indices from the seed; subset limits train only."""
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=g)
    n_val = int(round(n * val_split)) if val_split > 0 else 0
    val, train = perm[:n_val], perm[n_val:]
    if subset and subset > 0:
        keep = int(round(len(train) * subset)) if subset <= 1 else int(subset)
        train = train[: max(1, min(keep, len(train)))]
    return train, val


def augment_batch(x, pad, flip, g):
    """Random crop with zero padding and horizontal flip, vectorised per batch."""
    b, c, h, w = x.shape
    if pad > 0:
        xp = F.pad(x, (pad, pad, pad, pad))
        dev = x.device
        i = torch.randint(0, 2 * pad + 1, (b,), generator=g).to(dev)
        j = torch.randint(0, 2 * pad + 1, (b,), generator=g).to(dev)
        rows = (i[:, None] + torch.arange(h, device=dev)[None, :])[:, None, :, None]
        cols = (j[:, None] + torch.arange(w, device=dev)[None, :])[:, None, None, :]
        bi = torch.arange(b, device=dev)[:, None, None, None]
        ci = torch.arange(c, device=dev)[None, :, None, None]
        x = xp[bi, ci, rows, cols]
    if flip:
        m = (torch.rand(b, generator=g) < 0.5).to(x.device)[:, None, None, None]
        x = torch.where(m, x.flip(3), x)
    return x


# ---------------------------------------------------------------- training

def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def lr_at(step, total, warmup, base):
    if warmup > 0 and step < warmup:
        return base * (step + 1) / warmup
    if total <= warmup:
        return base
    t = (step - warmup) / max(1, total - warmup)
    return 0.5 * base * (1 + math.cos(math.pi * min(1.0, t)))


def evaluate(model, x, y, bs, device, amp_ctx, criterion, times=None):
    """Loss and accuracy (%) of model on (x, y) in batches of bs. When times
    is a list, the wall time of each full batch's forward pass is appended
    to it: the validation pass doubles as the latency measurement."""
    model.eval()
    correct, loss_sum, n = 0, 0.0, len(y)
    if n == 0:
        return 0.0, 0.0
    with torch.no_grad():
        for s in range(0, n, bs):
            xb = x[s:s + bs].to(device, non_blocking=True)
            yb = y[s:s + bs].to(device, non_blocking=True)
            t = time.perf_counter()
            with amp_ctx():
                out = model(xb)
            # int() waits for the device, so t covers the forward pass.
            correct += int((out.argmax(1) == yb).sum())
            if times is not None and len(yb) == bs:
                times.append(time.perf_counter() - t)
            loss_sum += float(criterion(out.float(), yb)) * len(yb)
    return loss_sum / n, 100.0 * correct / n


def median_ms(times):
    """The median of a validation pass's batch times, in ms, leaving out the
    first batch (warm-up) when there are others."""
    if len(times) > 1:
        times = times[1:]
    if not times:
        return 0.0
    times = sorted(times)
    return 1000.0 * times[len(times) // 2]


def reset_peak_mem(device):
    """Starts this job's peak-memory count: a resident trainer runs many
    jobs, and each reports its own peak. On Linux, writing 5 to
    /proc/self/clear_refs resets the process's VmHWM."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        return
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_mem_mb(device):
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2 ** 20
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class AMP:
    """Autocast + gradient scaling on CUDA; a no-op elsewhere."""

    def __init__(self, device, enabled):
        self.enabled = enabled and device.type == "cuda"
        self.dtype = torch.float16
        self.scaler = None
        if self.enabled:
            if torch.cuda.is_bf16_supported():
                self.dtype = torch.bfloat16  # no loss scaling needed
            elif hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):
                self.scaler = torch.amp.GradScaler("cuda")
            else:
                self.scaler = torch.cuda.amp.GradScaler()

    def __call__(self):
        if not self.enabled:
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=self.dtype)

    def step(self, loss, opt):
        if self.scaler is None:
            loss.backward()
            opt.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.step(opt)
            self.scaler.update()


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False
    try:
        torch.use_deterministic_algorithms(True, warn_only=True)
    except TypeError:  # older torch without warn_only
        pass


def train(job, result):
    recipe = job.get("recipe") or {}
    limits = job.get("limits") or {}
    seed = int(job.get("seed") or 0)
    input_shape = tuple(job.get("input") or (1, 28, 28))
    classes = int(job.get("classes") or 10)
    threads = int(recipe.get("threads") or 0)
    torch.set_num_threads(threads if threads > 0 else DEFAULT_THREADS)
    # CUDA is initialised only once the candidate is built (model.to), so
    # that a broken candidate fails fast.
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    seed_everything(seed)

    phase = "build"
    try:
        with open(job.get("source_file") or "candidate.py") as f:
            source = f.read()
        model = load_candidate(source)
        result["params"] = count_params(model)
        model.to(device)
        phase = "forward"
        known = int(job.get("flops") or 0)
        if known > 0:
            # The gate (or the tree) already counted the MACs: check the
            # logits' shape without counting them again.
            probe(model, input_shape, classes, device, count=False)
            result["flops"] = known
        else:
            result["flops"] = probe(model, input_shape, classes, device)
    except Exception as exc:  # the candidate's own failure
        result["status"] = classify(exc, phase)
        result["error"] = error_text(exc)
        return
    if job.get("weights"):
        # After the probe, whose training-mode pass moves BatchNorm's
        # running statistics.
        state = torch.load(job["weights"], map_location=device)
        model.load_state_dict(state)
    elif job.get("inherit"):
        result["inherited_params"] = inherit(model, job["inherit"], device)

    tx, ty, ex, ey, name = load_dataset(job.get("dataset") or {}, input_shape, classes)
    val_split = float((job.get("dataset") or {}).get("val_split") or 0)
    tr_idx, va_idx = split(len(ty), val_split, float(recipe.get("subset") or 0), seed)
    vx, vy = to_tensor(tx, name, va_idx), ty[va_idx]
    tx, ty = to_tensor(tx, name, tr_idx), ty[tr_idx]
    # The test set is read only when the job asks (finalists, retraining,
    # arbor train); the search itself never looks at it.
    want_test = bool(job.get("test"))
    if device.type == "cuda":  # small datasets live on the GPU
        tx, ty, vx, vy = tx.to(device), ty.to(device), vx.to(device), vy.to(device)

    if job.get("eval_only"):
        evaluate_only(job, result, model, device, (vx, vy, ex, ey, name), max(1, int(recipe.get("batch_size") or 128)))
        return

    epochs = max(1, int(recipe.get("epochs") or 1))
    bs = max(1, int(recipe.get("batch_size") or 128))
    lr = float(recipe.get("lr") or 0.1)
    wd = float(recipe.get("weight_decay") or 0)
    if (recipe.get("optimizer") or "sgd").lower() == "adamw":
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    else:
        mom = float(recipe.get("momentum") or 0)
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=mom,
                              nesterov=bool(recipe.get("nesterov")) and mom > 0, weight_decay=wd)
    criterion = nn.CrossEntropyLoss(label_smoothing=float(recipe.get("label_smoothing") or 0))
    plain = nn.CrossEntropyLoss()
    amp = AMP(device, bool(recipe.get("amp")))
    pad, flip = AUGMENT.get(name, (0, False)) if recipe.get("augment") else (0, False)
    steps_per_epoch = (len(ty) + bs - 1) // bs
    total = epochs * steps_per_epoch
    warmup = int(round(float(recipe.get("warmup_epochs") or 0) * steps_per_epoch))
    g = torch.Generator().manual_seed(seed + 1)
    every = max(1, steps_per_epoch // 20)

    t_train = time.time()
    step = 0
    try:
        for epoch in range(1, epochs + 1):
            t_ep = time.time()
            model.train()
            perm = torch.randperm(len(ty), generator=g).to(tx.device)
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), device=device, dtype=torch.long)
            seen = 0
            for s in range(steps_per_epoch):
                idx = perm[s * bs:(s + 1) * bs]
                xb, yb = tx[idx], ty[idx]
                if xb.device != device:
                    xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
                if pad or flip:
                    xb = augment_batch(xb, pad, flip, g)
                for group in opt.param_groups:
                    group["lr"] = lr_at(step, total, warmup, lr)
                opt.zero_grad(set_to_none=True)
                with amp():
                    out = model(xb)
                    loss = criterion(out.float(), yb)
                amp.step(loss, opt)
                step += 1
                loss_sum += loss.detach() * len(yb)
                correct += (out.detach().argmax(1) == yb).sum()
                seen += len(yb)
                if (s + 1) % every == 0 or s + 1 == steps_per_epoch:
                    running = float(loss_sum) / seen
                    if not math.isfinite(running):
                        raise CandidateError("diverged", "training loss became %s at epoch %d step %d" % (running, epoch, s + 1))
                    emit({"progress": {"epoch": epoch, "step": s + 1, "steps": steps_per_epoch, "loss": running}})
            times = []
            vloss, vacc = evaluate(model, vx, vy, bs, device, amp, plain, times)
            stat = {"epoch": epoch, "train_loss": float(loss_sum) / max(seen, 1),
                    "train_acc": 100.0 * float(correct) / max(seen, 1),
                    "val_loss": vloss, "val_acc": vacc, "seconds": time.time() - t_ep}
            result["curve"].append(stat)
            result["val_acc"] = vacc
            emit({"epoch": stat})
        result["train_s"] = time.time() - t_train
        if want_test:
            _, result["test_acc"] = evaluate(model, to_tensor(ex, name), ey, bs * 2, device, amp, plain)
        if not times:  # no validation set: time batches of training images
            evaluate(model, tx[:4 * bs], ty[:4 * bs], bs, device, amp, plain, times)
        result["latency_ms"] = median_ms(times)
        result["images_per_s"] = epochs * len(ty) / max(result["train_s"], 1e-9)
        if job.get("checkpoint"):
            save_weights(model, job["checkpoint"])
        result["status"] = "ok"
    except Exception as exc:
        result["train_s"] = time.time() - t_train
        result["status"] = classify(exc, "train")
        result["error"] = error_text(exc)


def inherit(model, path, device):
    """Copies every tensor of the parent's state_dict at path whose name and
    shape the model has too, and returns how many parameters (not buffers)
    were copied. Rendered names follow tree paths (net.stage1.block1.body.
    conv1.weight is /stage1/block1/body/conv1), so this is the child
    starting from its parent's weights wherever the tree is unchanged; an
    edited or new part keeps its fresh initialisation."""
    parent = torch.load(path, map_location=device)
    own = model.state_dict()
    params = dict(model.named_parameters())
    take = {k: v for k, v in parent.items() if k in own and tuple(own[k].shape) == tuple(v.shape)}
    model.load_state_dict(take, strict=False)
    return int(sum(params[k].numel() for k in take if k in params))


def save_weights(model, path):
    """Writes model's state_dict to path atomically: a temporary file in the
    same folder, synced, renamed over path."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def evaluate_only(job, result, model, device, data, bs):
    """Measures a model with given weights (job["weights"]) on the job's
    validation split, and on the test set when the job asks: no training."""
    vx, vy, ex, ey, name = data
    plain = nn.CrossEntropyLoss()
    amp = AMP(device, False)
    t = time.time()
    times = []
    vloss, result["val_acc"] = evaluate(model, vx, vy, bs, device, amp, plain, times)
    result["curve"].append({"epoch": 0, "train_loss": 0.0, "train_acc": 0.0, "val_loss": vloss,
                            "val_acc": result["val_acc"], "seconds": time.time() - t})
    if job.get("test"):
        _, result["test_acc"] = evaluate(model, to_tensor(ex, name), ey, bs * 2, device, amp, plain)
    result["latency_ms"] = median_ms(times)
    result["status"] = "ok"


def write_result(path, result):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(result, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def run_job(job_path, out_path):
    with open(job_path) as f:
        job = json.load(f)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    reset_peak_mem(device)
    result = {"id": job.get("id", ""), "status": "crashed", "val_acc": 0.0, "test_acc": 0.0,
              "curve": [], "params": 0, "flops": 0, "latency_ms": 0.0, "wall_s": 0.0,
              "peak_mem_mb": 0.0, "train_s": 0.0}
    try:
        train(job, result)
    except Exception as exc:  # the trainer's own failure, e.g. a missing dataset
        result["status"] = "crashed"
        result["error"] = error_text(exc)
    finally:
        # What the candidate defined must not reach the next job of a
        # resident trainer.
        sys.modules.pop("candidate", None)
    result["device"] = "cpu" if device.type == "cpu" else "cuda:" + torch.cuda.get_device_name(0)
    result["peak_mem_mb"] = peak_mem_mb(device)
    result["wall_s"] = time.time() - T0
    write_result(out_path, result)


def watch_parent():
    """Kills this process group once arbor, the parent, is gone: a kill -9
    leaves no one to stop the job, and an orphan would keep training into a
    directory the next arbor removes."""
    ppid = os.getppid()

    def loop():
        while True:
            time.sleep(0.5)
            if os.getppid() != ppid:
                try:
                    os.killpg(os.getpgid(0), signal.SIGKILL)
                finally:
                    os._exit(1)

    threading.Thread(target=loop, name="arbor-parent-watch", daemon=True).start()


def serve():
    """A resident trainer: waits (torch already imported) for one line
    {"dir", "job", "out", "token"} at a time, runs that job in that
    directory, prints {"done": token} once result.json is written, and waits
    for the next, keeping torch imported and the decoded dataset between
    jobs. It exits at the end of stdin. A job that hangs or crashes the
    interpreter costs the caller a restart (it kills the process group)."""
    global T0
    home = os.getcwd()
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        T0 = time.time()
        emit({"started": True})  # the job's wall-time limit runs from here
        os.chdir(req["dir"])
        try:
            run_job(req.get("job", "job.json"), req.get("out", "result.json"))
        finally:
            os.chdir(home)
            gc.collect()
        emit({"done": req.get("token", "")})


# ---------------------------------------------------------------- gate

def gate_check(req):
    t = time.perf_counter()
    res = {"id": req.get("id"), "status": "ok", "params": 0, "flops": 0, "error": ""}
    phase = "build"
    try:
        model = load_candidate(req["source"], "candidate_%s" % req.get("id", 0))
        res["params"] = count_params(model)
        phase = "forward"
        res["flops"] = probe(model, tuple(req["input"]), int(req["classes"]), torch.device("cpu"))
    except Exception as exc:
        res["status"] = classify(exc, phase)
        res["error"] = error_text(exc, 2000)
    finally:
        sys.modules.pop("candidate_%s" % req.get("id", 0), None)
    res["ms"] = 1000.0 * (time.perf_counter() - t)
    return res


def gate():
    """Dry-run gate: one JSON request per stdin line, one JSON answer per line.

    The protocol uses private copies of stdin/stdout; the candidate's own
    prints go to stderr and its reads see /dev/null."""
    proto_in = os.fdopen(os.dup(0), "r")
    proto_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    torch.set_num_threads(int(os.environ.get("ARBOR_GATE_THREADS", "1")))
    proto_out.write(json.dumps({"ready": True, "torch": torch.__version__}) + "\n")
    proto_out.flush()
    for line in proto_in:
        if not line.strip():
            continue
        req = json.loads(line)
        torch.manual_seed(int(req.get("seed", 0)))
        res = gate_check(req)
        proto_out.write(json.dumps(res) + "\n")
        proto_out.flush()


def export_onnx(module_path, weights, out, input_shape):
    """Loads class Candidate from module_path with the state_dict in
    weights, exports it to ONNX at out (dynamic batch size) and, when the
    onnx package is installed, checks the file with onnx.checker and
    compares its output with PyTorch's. Prints one JSON line."""
    with open(module_path) as f:
        model = load_candidate(f.read(), "exported")
    if weights:
        model.load_state_dict(torch.load(weights, map_location="cpu"))
    model.eval()
    x = torch.randn(2, *input_shape)
    torch.onnx.export(model, x, out + ".tmp", input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
    os.replace(out + ".tmp", out)
    res = {"onnx": out, "checked": False}
    try:
        import onnx
    except ImportError:
        res["note"] = "onnx is not installed (apt-get install python3-onnx); the file was not checked"
    else:
        onnx.checker.check_model(onnx.load(out), full_check=True)
        res["checked"] = True
        res["onnx_version"] = onnx.__version__
    emit(res)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--job", default="job.json")
    ap.add_argument("--out", default="result.json")
    ap.add_argument("--serve", action="store_true")
    ap.add_argument("--gate", action="store_true")
    ap.add_argument("--export-onnx", metavar="OUT", help="export --module with --weights to this ONNX file")
    ap.add_argument("--module")
    ap.add_argument("--weights")
    ap.add_argument("--input", help="C,H,W")
    a = ap.parse_args()
    if a.export_onnx:
        export_onnx(a.module, a.weights, a.export_onnx, tuple(int(v) for v in a.input.split(",")))
        sys.stdout.flush()
        os._exit(0)
    if a.gate or a.serve:
        watch_parent()
    if a.gate:
        gate()
    elif a.serve:
        serve()
    else:
        run_job(a.job, a.out)
    # result.json is already on disk; skipping the interpreter's teardown of
    # torch saves a few hundred milliseconds per job.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
