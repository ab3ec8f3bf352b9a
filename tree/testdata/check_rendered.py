"""Instantiates rendered arbor candidates and reports what PyTorch sees.

Reads a JSON manifest [{"file", "input": [C, H, W]}] from argv[1] and prints
one JSON object per case: file, params, output shape (or error).
"""
import importlib.util
import json
import sys
import traceback

import torch


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    cases = json.load(open(sys.argv[1]))
    for k, case in enumerate(cases):
        res = {"file": case["file"]}
        try:
            spec = importlib.util.spec_from_file_location("cand%d" % k, case["file"])
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            net = mod.Candidate()
            res["params"] = sum(p.numel() for p in net.parameters())
            net.eval()
            with torch.no_grad():
                y = net(torch.randn(2, *case["input"]))
            res["output"] = list(y.shape)
            res["finite"] = bool(torch.isfinite(y).all())
        except Exception:
            res["error"] = traceback.format_exc(limit=3)
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
