# torch_worker.py: the PyTorch side of tests/bench/compare-pytorch. The lesson models of
# SPEC section 8 (lessons 4 and 5; lesson 13's residual network is resnet14) in PyTorch:
# Conv2d 32/64/128 3×3 stride 2 'valid' ReLU →
# Flatten → Dropout 0.2 → Linear 1024 ReLU → Dropout 0.2 → Linear 10 (softmax fused into
# CrossEntropyLoss), Adam lr 1e-3 eps 1e-7, batch 32, synthetic data of the real shapes
# (NCHW, as PyTorch wants). Reads commands on stdin, answers one line each (see
# compare-pytorch): "train CASE THREADS STEPS", "infer CASE THREADS REPS", "full THREADS
# EPOCHS", "quit". Times are milliseconds.
import gzip
import struct
import sys
import time

import torch
import torch.nn as tnn

CASES = {"cifar": (3, 32, 32), "fashion": (1, 28, 28), "resnet": (3, 32, 32)}


def lesson_model(c, h, w):
    def out(n):
        return (n - 3) // 2 + 1
    oh, ow = out(out(out(h))), out(out(out(w)))
    return tnn.Sequential(
        tnn.Conv2d(c, 32, 3, stride=2), tnn.ReLU(),
        tnn.Conv2d(32, 64, 3, stride=2), tnn.ReLU(),
        tnn.Conv2d(64, 128, 3, stride=2), tnn.ReLU(),
        tnn.Flatten(), tnn.Dropout(0.2),
        tnn.Linear(128 * oh * ow, 1024), tnn.ReLU(), tnn.Dropout(0.2),
        tnn.Linear(1024, 10))


class Block(tnn.Module):
    """Lesson 13's residual block: two 3x3 convolutions with batch normalisation (Keras's
    momentum 0.99 is PyTorch's 0.01, epsilon 1e-3), a 1x1 stride-2 shortcut when it
    downsamples, relu(h + shortcut)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        bn = lambda c: tnn.BatchNorm2d(c, eps=1e-3, momentum=0.01)
        self.body = tnn.Sequential(tnn.Conv2d(cin, cout, 3, stride=stride, padding=1), bn(cout),
                                   tnn.ReLU(), tnn.Conv2d(cout, cout, 3, padding=1), bn(cout))
        self.short = (tnn.Sequential(tnn.Conv2d(cin, cout, 1, stride=stride), bn(cout))
                      if stride != 1 else tnn.Identity())

    def forward(self, x):
        return torch.relu(self.body(x) + self.short(x))


def resnet14():
    """Lesson 13's model: a stem at stride 2, three stages of two blocks (16, 32, 64),
    average pooling."""
    layers = [tnn.Conv2d(3, 16, 3, stride=2, padding=1), tnn.BatchNorm2d(16, eps=1e-3, momentum=0.01),
              tnn.ReLU()]
    cin = 16
    for stage, f in enumerate((16, 32, 64)):
        layers += [Block(cin, f, 1 if stage == 0 else 2), Block(f, f, 1)]
        cin = f
    layers += [tnn.AdaptiveAvgPool2d(1), tnn.Flatten(), tnn.Linear(64, 10)]
    return tnn.Sequential(*layers)


class Case:
    def __init__(self, name):
        torch.manual_seed(1)
        c, h, w = CASES[name]
        self.model = resnet14() if name == "resnet" else lesson_model(c, h, w)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3, eps=1e-7)
        self.loss = tnn.CrossEntropyLoss()
        self.x = torch.rand(32, c, h, w)
        self.y = torch.randint(0, 10, (32,))
        self.xi = torch.rand(256, c, h, w)

    def step(self, x, y):
        self.opt.zero_grad(set_to_none=False)
        loss = self.loss(self.model(x), y)
        loss.backward()
        self.opt.step()
        return loss

    def train(self, steps):
        self.model.train()
        ts = []
        for _ in range(steps):
            t0 = time.perf_counter()
            self.step(self.x, self.y)
            ts.append((time.perf_counter() - t0) * 1e3)
        return ts

    def infer(self, reps):
        self.model.eval()
        ts = []
        with torch.no_grad():
            for _ in range(reps):
                t0 = time.perf_counter()
                self.model(self.xi)
                ts.append((time.perf_counter() - t0) * 1e3)
        return ts


def idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic, = struct.unpack(">I", raw[:4])
    nd = magic & 0xff
    dims = struct.unpack(">" + "I" * nd, raw[4:4 + 4 * nd])
    t = torch.frombuffer(bytearray(raw[4 + 4 * nd:]), dtype=torch.uint8)
    return t.reshape(dims)


def full(threads, epochs):
    torch.set_num_threads(threads)
    d = "/usr/share/datasets/fashion-mnist/"
    xt = idx(d + "train-images-idx3-ubyte.gz").float().div(255).unsqueeze(1)
    yt = idx(d + "train-labels-idx1-ubyte.gz").long()
    xv = idx(d + "t10k-images-idx3-ubyte.gz").float().div(255).unsqueeze(1)
    yv = idx(d + "t10k-labels-idx1-ubyte.gz").long()
    torch.manual_seed(5)
    case = Case("fashion")
    case.model = lesson_model(1, 28, 28)
    case.opt = torch.optim.Adam(case.model.parameters(), lr=1e-3, eps=1e-7)
    out = []
    for e in range(epochs):
        t0 = time.perf_counter()
        case.model.train()
        perm = torch.randperm(xt.shape[0])
        for i in range(0, xt.shape[0], 32):
            b = perm[i:i + 32]
            case.step(xt[b], yt[b])
        case.model.eval()
        correct = 0
        with torch.no_grad():
            for i in range(0, xv.shape[0], 256):
                correct += (case.model(xv[i:i + 256]).argmax(1) == yv[i:i + 256]).sum().item()
        out.append("%.2f:%.4f" % (time.perf_counter() - t0, correct / xv.shape[0]))
    return out


def main():
    cases = {}
    for line in sys.stdin:
        w = line.split()
        if not w:
            continue
        if w[0] == "quit":
            break
        if w[0] == "full":
            print(" ".join(full(int(w[1]), int(w[2]))), flush=True)
            continue
        name, threads, n = w[1], int(w[2]), int(w[3])
        torch.set_num_threads(threads)
        if name not in cases:
            cases[name] = Case(name)
            cases[name].train(5)
            cases[name].infer(1)
        ts = cases[name].train(n) if w[0] == "train" else cases[name].infer(n)
        print(" ".join("%.4f" % t for t in ts), flush=True)


if __name__ == "__main__":
    main()
