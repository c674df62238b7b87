#!/usr/bin/python3
"""Independent NumPy implementation of specs/ops.md (the Probity integer op set).

Written from the spec, not from the Go package ops/: for every case of testdata/vectors/ops.json it
recomputes `expect`, `at` and `output` from `op`, `params` and `inputs`, writes the file back
with those fields replaced, and requires the result to equal the committed file byte for byte.

    /usr/bin/python3 tools/ops_ref.py [testdata/vectors/ops.json]

Exit status 0: every case agrees; 1: a mismatch (each one is listed). Needs python3-numpy.
All arithmetic is exact: int64 arrays where the spec's bounds keep values below 2^63, Python
integers for the one 96-bit product of `sample`.
"""

import json
import math
import sys
from collections import OrderedDict

import numpy as np


class OpError(Exception):
    """An op failure of one of the spec's classes; `at` names the element where the spec does."""

    def __init__(self, cls, at=None):
        super().__init__(cls)
        self.cls, self.at = cls, at


def fail(cls, at=None):
    raise OpError(cls, at)


# ---- §1 conventions -------------------------------------------------------------------------

def rshr(v, s):
    """Round half up of v / 2^s: floor((v + 2^(s-1)) / 2^s); numpy >> on int64 floors."""
    return (v + (np.int64(1) << np.int64(s - 1))) >> np.int64(s)


def rdiv(a, b):
    """Round half up of a / b for b > 0: floor((2a + b) / (2b)); numpy // floors."""
    return (2 * a + b) // (2 * b)


def clamp8(v):
    return np.clip(v, -128, 127).astype(np.int64)


def tensor(t, dtype):
    """The input as an int64 array; a shape that does not match the data is a shape error."""
    if t["dtype"] != dtype:
        raise ValueError("want %s, have %s" % (dtype, t["dtype"]))
    n = 1
    for d in t["shape"]:
        if d < 0:
            fail("shape")
        n *= d
    if n != len(t["data"]):
        fail("shape")
    return np.array(t["data"], dtype=np.int64).reshape(t["shape"])


def matrix(t):
    x = tensor(t, "I8")
    if x.ndim != 2:
        fail("shape")
    return x


def epilogue(acc, e):
    """protocol.md §3.2 on an int64 array of int32 accumulators."""
    m, s, z = e["multiplier"], e["shift"], e["zeroPoint"]
    y = rshr(acc * m, s) + z
    lo = z if e["relu"] else -128
    return np.clip(y, lo, 127).astype(np.int64)


def check_epilogue(e):
    if not (1 <= e["multiplier"] < 2**31) or not (1 <= e["shift"] <= 62):
        fail("param")


def first_overflow(acc):
    """The first element (row-major) outside int32, as the spec's `at`."""
    bad = (acc < -(2**31)) | (acc >= 2**31)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        fail("overflow", [int(i), int(j)])


# ---- ops ------------------------------------------------------------------------------------

def op_linear(p, x):
    w, b = matrix(x["w"]), tensor(x["b"], "I32")
    a = matrix(x["a"])
    ms = p["multipliers"]
    if len(ms) != w.shape[0]:
        fail("shape")
    if any(not (1 <= m < 2**31) for m in ms) or not (1 <= p["shift"] <= 62):
        fail("param")
    if b.ndim != 1 or b.shape[0] != w.shape[0] or a.shape[1] != w.shape[1]:
        fail("shape")
    acc = a @ w.T + b  # |terms| <= 2^14: exact in int64
    first_overflow(acc)
    # Column j's epilogue has multiplier m[j]: broadcast over rows.
    e = {"multiplier": np.array(ms, dtype=np.int64), "shift": p["shift"],
         "zeroPoint": p["zeroPoint"], "relu": p["relu"]}
    return epilogue(acc, e), "I8"


def op_matmul(p, x):
    check_epilogue(p["epilogue"])
    a, b = matrix(x["a"]), matrix(x["b"])
    bt = b if p["transB"] else b.T  # [N, K]
    if bt.shape[1] != a.shape[1]:
        fail("shape")
    M, K = a.shape
    N = bt.shape[0]
    ac, bc = a - p["zeroA"], bt - p["zeroB"]
    if p["causal"] and not p["transB"]:
        # Row i sums only t <= i + K - M: zero the masked terms of A.
        t = np.arange(K)[None, :]
        ac = np.where(t <= np.arange(M)[:, None] + K - M, ac, 0)
    acc = ac @ bc.T
    if p["causal"] and p["transB"]:
        # Output (i, j) with j > i + N - M is epi(0): never computed, so it cannot overflow.
        j = np.arange(N)[None, :]
        acc = np.where(j <= np.arange(M)[:, None] + N - M, acc, 0)
    first_overflow(acc)
    return epilogue(acc, p["epilogue"]), "I8"


def exp_table(t):
    if len(t) != 256 or t[0] != 2**15 or any(v < 0 or v > 2**15 for v in t):
        fail("param")
    return np.array(t, dtype=np.int64)


def op_softmax(p, x):
    table = exp_table(p["table"])
    X = matrix(x["x"])
    M, N = X.shape
    if not (1 <= N <= 2**16):
        fail("shape")
    out = np.full((M, N), -128, dtype=np.int64)
    for i in range(M):
        # unmasked iff not causal or j <= i + N - M
        n = min(N, max(0, i + N - M + 1)) if p["causal"] else N
        if n == 0:
            continue  # fully masked: all -128
        row = X[i, :n]
        w = table[row.max() - row]
        out[i, :n] = clamp8(rdiv(256 * w, w.sum()) - 128)
    return out, "I8"


def op_norm(p, x, rms):
    X = matrix(x["x"])
    M, N = X.shape
    if not (1 <= N <= 2**15):
        fail("shape")
    g, b = tensor(x["gamma"], "I32"), tensor(x["beta"], "I32")
    if g.shape != (N,) or b.shape != (N,):
        fail("shape")
    s, eps = p["shift"], p["eps"]
    if not (1 <= s <= 62) or not (0 <= eps <= 2**46):
        fail("param")
    out = np.zeros((M, N), dtype=np.int64)
    for i in range(M):
        row = X[i]
        c = N * (row - p["zeroX"]) if rms else N * row - row.sum()
        D = int((c * c).sum()) // N  # exact: sum c^2 is a multiple of N
        r = math.isqrt((D + eps) * 2**16)
        nu = np.zeros(N, dtype=np.int64) if r == 0 else rdiv(c * 2**20, np.int64(r))
        out[i] = clamp8(rshr(g * nu, s) + b)
    return out, "I8"


def op_lut(p, x):
    t = p["table"]
    if len(t) != 256:
        fail("param")
    X = tensor(x["x"], "I8")
    return np.array(t, dtype=np.int64)[X + 128], "I8"


def same_shape(x):
    a, b = tensor(x["a"], "I8"), tensor(x["b"], "I8")
    if a.shape != b.shape:
        fail("shape")
    return a, b


def op_add(p, x):
    a, b = same_shape(x)
    if not (1 <= p["mulA"] < 2**31 and 1 <= p["mulB"] < 2**31 and 1 <= p["shift"] <= 62):
        fail("param")
    v = p["mulA"] * (a - p["zeroA"]) + p["mulB"] * (b - p["zeroB"])
    return clamp8(rshr(v, p["shift"]) + p["zeroOut"]), "I8"


def op_mul(p, x):
    a, b = same_shape(x)
    if not (1 <= p["mul"] < 2**31 and 1 <= p["shift"] <= 62):
        fail("param")
    v = p["mul"] * ((a - p["zeroA"]) * (b - p["zeroB"]))
    return clamp8(rshr(v, p["shift"]) + p["zeroOut"]), "I8"


def op_embed(p, x):
    E = matrix(x["table"])
    if E.shape[0] < 1:
        fail("shape")
    ids = tensor(x["ids"], "I32")
    if ids.ndim != 1:
        fail("shape")
    for t, v in enumerate(ids):
        if not 0 <= v < E.shape[0]:
            fail("token", [t])
    return E[ids].reshape(len(ids), E.shape[1]), "I8"


def op_argmax(p, x):
    X = matrix(x["x"])
    if X.shape[1] < 1:
        fail("shape")
    return np.argmax(X, axis=1).astype(np.int64), "I32"  # numpy returns the first maximum


MASK64 = 2**64 - 1


def splitmix64(state):
    """Yields the SplitMix64 stream of §11 started at state."""
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        yield z ^ (z >> 31)


def op_sample(p, x):
    table = exp_table(p["table"])
    X = matrix(x["x"])
    M, N = X.shape
    if not (1 <= N <= 2**16):
        fail("shape")
    k = p["k"]
    if not 1 <= k <= N:
        fail("param")
    rng = splitmix64(int(p["seed"]))
    out = np.zeros(M, dtype=np.int64)
    for i in range(M):
        row = X[i]
        # top-k: value descending, then index ascending (a stable sort of -x)
        order = np.argsort(-row, kind="stable")
        kept = np.zeros(N, dtype=bool)
        kept[order[:k]] = True
        w = np.where(kept, table[row.max() - row], 0)
        W = int(w.sum())
        u = (next(rng) * W) >> 64
        out[i] = int(np.argmax(np.cumsum(w) > u))
    return out, "I32"


OPS = {
    "linear": op_linear,
    "matmul": op_matmul,
    "softmax": op_softmax,
    "layernorm": lambda p, x: op_norm(p, x, False),
    "rmsnorm": lambda p, x: op_norm(p, x, True),
    "lut": op_lut,
    "add": op_add,
    "mul": op_mul,
    "embed": op_embed,
    "argmax": op_argmax,
    "sample": op_sample,
}


def run(case):
    """Returns (expect, at, output) for one case."""
    try:
        y, dtype = OPS[case["op"]](case["params"], case["inputs"])
    except OpError as e:
        return e.cls, e.at, None
    out = OrderedDict()
    out["dtype"] = dtype
    out["shape"] = [int(d) for d in y.shape]
    out["data"] = [int(v) for v in y.reshape(-1)]
    return "ok", None, out


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "testdata/vectors/ops.json"
    with open(path, "rb") as f:
        committed = f.read()
    doc = json.loads(committed, object_pairs_hook=OrderedDict)
    mismatches = 0
    for n, case in enumerate(doc["cases"]):
        expect, at, output = run(case)
        if (expect, at, output) != (case["expect"], case["at"], case["output"]):
            mismatches += 1
            print("ops_ref: case %d (%s: %s): file says %s at %s, spec gives %s at %s%s" % (
                n, case["op"], case["note"], case["expect"], case["at"], expect, at,
                "" if expect != "ok" or case["output"] is None else ", outputs differ"))
        case["expect"], case["at"], case["output"] = expect, at, output
    # Go's encoder: two-space indent, ": " and "," separators, UTF-8 kept, a final newline.
    rebuilt = (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode()
    if mismatches == 0 and rebuilt != committed:
        mismatches += 1
        print("ops_ref: every case agrees but the re-encoded file differs from %s" % path)
    if mismatches:
        print("ops_ref: FAIL: %d mismatch(es) in %d cases" % (mismatches, len(doc["cases"])))
        return 1
    print("ops_ref: ok: %d cases of %s reproduced byte for byte" % (len(doc["cases"]), path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
