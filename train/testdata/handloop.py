"""A hand-written PyTorch loop: the baseline the pool's per-candidate time is
measured against (BenchmarkPoolVsHandLoop).

It loads Fashion-MNIST once, then for each stdin line {"source", "recipe",
"n_train", "n_val", "seed"} builds the candidate, trains it for the recipe's
epochs with SGD (Nesterov momentum, weight decay, linear warm-up then cosine,
as the trainer does) and computes the validation accuracy, and prints
{"seconds": wall time of build + training + validation, "val_acc": ...}.
Nothing else: no progress, no probe, no result file.
"""
import gzip
import json
import math
import sys
import time
import types

import numpy as np
import torch
import torch.nn as nn


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(data[3])]
    return np.frombuffer(bytearray(data), dtype=np.uint8, offset=4 + 4 * data[3]).reshape(dims)


root = sys.argv[1]
X = torch.from_numpy(idx(root + "/train-images-idx3-ubyte.gz")[:, None]).float().sub_(0.2860 * 255).div_(0.3530 * 255)
Y = torch.from_numpy(idx(root + "/train-labels-idx1-ubyte.gz").astype(np.int64))
print(json.dumps({"ready": True}), flush=True)

for line in sys.stdin:
    req = json.loads(line)
    r = req["recipe"]
    torch.set_num_threads(int(r.get("threads") or 1))
    t0 = time.perf_counter()
    torch.manual_seed(req["seed"])
    perm = torch.randperm(len(Y))
    va, tr = perm[:req["n_val"]], perm[req["n_val"]:req["n_val"] + req["n_train"]]
    tx, ty, vx, vy = X[tr], Y[tr], X[va], Y[va]
    mod = types.ModuleType("hand")
    exec(compile(req["source"], "hand.py", "exec"), mod.__dict__)
    model = mod.Candidate()
    bs, lr = r["batch_size"], r["lr"]
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=r["momentum"], nesterov=r["nesterov"],
                          weight_decay=r["weight_decay"])
    loss_fn = nn.CrossEntropyLoss()
    steps = (len(ty) + bs - 1) // bs
    total, warm = r["epochs"] * steps, int(round(r["warmup_epochs"] * steps))
    step = 0
    for epoch in range(r["epochs"]):
        model.train()
        order = torch.randperm(len(ty))
        for s in range(steps):
            i = order[s * bs:(s + 1) * bs]
            if step < warm:
                cur = lr * (step + 1) / warm
            else:
                cur = 0.5 * lr * (1 + math.cos(math.pi * min(1.0, (step - warm) / max(1, total - warm))))
            for g in opt.param_groups:
                g["lr"] = cur
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(tx[i]), ty[i])
            loss.backward()
            opt.step()
            step += 1
        model.eval()
        correct = 0
        with torch.no_grad():
            for s in range(0, len(vy), bs):
                correct += int((model(vx[s:s + bs]).argmax(1) == vy[s:s + bs]).sum())
    print(json.dumps({"seconds": time.perf_counter() - t0, "val_acc": 100.0 * correct / max(1, len(vy))}), flush=True)
