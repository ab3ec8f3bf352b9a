"""Writes tiny datasets in the on-disk formats trainer.py reads:
CIFAR-10/100 python-pickle batches and NAS-Bench-201's ImageNet16."""
import os
import pickle
import sys

import numpy as np

root = sys.argv[1]
g = np.random.default_rng(0)


def dump(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump(obj, f)


def images(n, side):
    return g.integers(0, 256, size=(n, 3 * side * side), dtype=np.uint8)


for i in range(1, 6):
    dump(os.path.join(root, "cifar10", "data_batch_%d" % i),
         {b"data": images(40, 32), b"labels": list(g.integers(0, 10, 40))})
dump(os.path.join(root, "cifar10", "test_batch"), {b"data": images(30, 32), b"labels": list(g.integers(0, 10, 30))})
dump(os.path.join(root, "cifar100", "cifar-100-python", "train"),
     {b"data": images(200, 32), b"fine_labels": list(g.integers(0, 100, 200))})
dump(os.path.join(root, "cifar100", "cifar-100-python", "test"),
     {b"data": images(30, 32), b"fine_labels": list(g.integers(0, 100, 30))})
# ImageNet16 labels are 1-based over 1000 classes; -120 keeps 1..120.
for i in range(1, 11):
    dump(os.path.join(root, "imagenet16", "train_data_batch_%d" % i),
         {"data": images(60, 16), "labels": list(g.integers(1, 241, 60))})
dump(os.path.join(root, "imagenet16", "val_data"), {"data": images(60, 16), "labels": list(g.integers(1, 241, 60))})
