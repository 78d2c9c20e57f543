# accuracy_torch.py: the PyTorch side of tests/bench/compare-accuracy (accuracy_lunette.lua is
# the Lunette side). The lesson model (SPEC section 8: lesson 4 on CIFAR-10, lesson 5 on
# Fashion-MNIST) trained by a plain PyTorch loop written to Keras's semantics, which Lunette
# follows: Glorot-uniform kernels (fans over the receptive field, as Keras and PyTorch's
# xavier_uniform_ both count them), zero biases, inverted dropout, Keras's Adam formula
#   lr_t = lr·√(1-β2ᵗ)/(1-β1ᵗ),  w -= lr_t·m/(√v + ε),  ε = 1e-7
# (PyTorch's own Adam adds ε to √v/√(1-β2ᵗ) instead), a fresh shuffle each epoch, batch 32
# with a short last batch, cross-entropy on the logits (the softmax is fused into the loss),
# pixels scaled to 0..1. The training loss of an epoch is the mean over its samples of the
# batch losses (with dropout active), as Keras and Lunette report it.
#   accuracy_torch.py --data fashion|cifar --dir DIR --seed S --epochs E --threads T
#                     [--train N] [--val N] [--dropout 0.2]
# Prints "data NTRAIN NVAL", then per epoch "epoch E loss L accuracy A val_loss VL
# val_accuracy VA sec S", the same lines as accuracy_lunette.lua.
import argparse
import gzip
import math
import os
import time

import torch
import torch.nn as tnn
import torch.nn.functional as F


def idx(path):
    """An IDX file (raw or .gz) as a uint8 tensor of its dimensions."""
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        raw = f.read()
    nd = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return torch.frombuffer(bytearray(raw[4 + 4 * nd:]), dtype=torch.uint8).reshape(dims)


def find(d, names):
    for n in names:
        for p in (os.path.join(d, n), os.path.join(d, "cifar-10-batches-bin", n)):
            if os.path.exists(p):
                return p
    raise SystemExit("accuracy_torch.py: none of %s in %s" % (", ".join(names), d))


def load_fashion(d):
    def get(stem):
        return idx(find(d, [stem + ".gz", stem]))
    xt = get("train-images-idx3-ubyte").unsqueeze(1).float().div(255)
    xv = get("t10k-images-idx3-ubyte").unsqueeze(1).float().div(255)
    return xt, get("train-labels-idx1-ubyte").long(), xv, get("t10k-labels-idx1-ubyte").long()


def load_cifar(d):
    """The binary version: records of 1 label byte + 3×1024 bytes (R, G, B planes)."""
    def get(names):
        raw = b"".join(open(find(d, [n]), "rb").read() for n in names)
        t = torch.frombuffer(bytearray(raw), dtype=torch.uint8).reshape(-1, 3073)
        return t[:, 1:].reshape(-1, 3, 32, 32).float().div(255), t[:, 0].long()
    xt, yt = get(["data_batch_%d.bin" % k for k in range(1, 6)])
    xv, yv = get(["test_batch.bin"])
    return xt, yt, xv, yv


def lesson_model(c, h, rate):
    def out(n):
        return (n - 3) // 2 + 1
    s = out(out(out(h)))
    layers = [tnn.Conv2d(c, 32, 3, stride=2), tnn.ReLU(),
              tnn.Conv2d(32, 64, 3, stride=2), tnn.ReLU(),
              tnn.Conv2d(64, 128, 3, stride=2), tnn.ReLU(), tnn.Flatten()]
    if rate > 0:
        layers.append(tnn.Dropout(rate))
    layers += [tnn.Linear(128 * s * s, 1024), tnn.ReLU()]
    if rate > 0:
        layers.append(tnn.Dropout(rate))
    layers.append(tnn.Linear(1024, 10))
    m = tnn.Sequential(*layers)
    for l in m:
        if isinstance(l, (tnn.Conv2d, tnn.Linear)):
            tnn.init.xavier_uniform_(l.weight)
            tnn.init.zeros_(l.bias)
    return m


class KerasAdam:
    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7):
        self.p = list(params)
        self.lr, self.b1, self.b2, self.eps, self.t = lr, b1, b2, eps, 0
        self.m = [torch.zeros_like(p) for p in self.p]
        self.v = [torch.zeros_like(p) for p in self.p]

    @torch.no_grad()
    def step(self):
        self.t += 1
        lr_t = self.lr * math.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        for p, m, v in zip(self.p, self.m, self.v):
            g = p.grad
            m.mul_(self.b1).add_(g, alpha=1 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
            p.addcdiv_(m, v.sqrt().add_(self.eps), value=-lr_t)
            p.grad = None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="fashion")
    ap.add_argument("--dir", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--train", type=int, default=0)
    ap.add_argument("--val", type=int, default=0)
    ap.add_argument("--dropout", type=float, default=0.2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    xt, yt, xv, yv = (load_cifar if a.data == "cifar" else load_fashion)(a.dir)
    if a.train > 0:
        xt, yt = xt[:a.train], yt[:a.train]
    if a.val > 0:
        xv, yv = xv[:a.val], yv[:a.val]
    print("data %d %d" % (xt.shape[0], xv.shape[0]), flush=True)
    torch.manual_seed(a.seed)
    model = lesson_model(xt.shape[1], xt.shape[2], a.dropout)
    opt = KerasAdam(model.parameters())
    n, bs = xt.shape[0], 32
    for epoch in range(1, a.epochs + 1):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(n)
        lsum, correct = 0.0, 0
        for i in range(0, n, bs):
            b = perm[i:i + bs]
            logits = model(xt[b])
            loss = F.cross_entropy(logits, yt[b])
            loss.backward()
            opt.step()
            lsum += loss.item() * len(b)
            correct += (logits.argmax(1) == yt[b]).sum().item()
        model.eval()
        vl, vc = 0.0, 0
        with torch.no_grad():
            for i in range(0, xv.shape[0], 256):
                logits = model(xv[i:i + 256])
                vl += F.cross_entropy(logits, yv[i:i + 256], reduction="sum").item()
                vc += (logits.argmax(1) == yv[i:i + 256]).sum().item()
        print("epoch %d loss %.6f accuracy %.6f val_loss %.6f val_accuracy %.6f sec %.2f"
              % (epoch, lsum / n, correct / n, vl / xv.shape[0], vc / xv.shape[0],
                 time.perf_counter() - t0), flush=True)


if __name__ == "__main__":
    main()
