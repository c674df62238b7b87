#!/usr/bin/python3
"""Independent NumPy executor for Probity generation jobs (specs/trace.md §7).

Written from specs/ops.md, specs/model.md, specs/trace.md and protocol.md §3.1 alone, not from
the Go packages ops/, model/, jobs/; the single ops are tools/ops_ref.py's.

    /usr/bin/python3 tools/model_ref.py MODEL.safetensors JOB.safetensors OUT-DIR
    /usr/bin/python3 tools/model_ref.py --selftest
    /usr/bin/python3 tools/model_ref.py --vectors testdata/vectors/trace.json

The executor writes OUT-DIR/trace.safetensors and OUT-DIR/result.safetensors and exits 0, or
exits 1 with one line `model_ref: CLASS: message` on stderr. It deliberately has no KV cache:
generated token g_s comes from a full pass over the prefix of length P + s, and every row that
pass adds (the prefill rows, then one row per decode step) is compared with the last pass, the
one over all T rows, which is the trace. So each run checks trace.md §2's claim that decode
steps and one pass agree, and refuses a model for which they do not.

Not checked: the job's `model.root` against the model (that needs Poseidon2, protocol.md §4);
it is only parsed as a decimal field element. Needs python3-numpy (Debian's 1.24 is enough).
"""

import json
import os
import re
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ops_ref as ref  # noqa: E402


class Refused(Exception):
    """A file, model or job this executor refuses, with the spec's error class."""

    def __init__(self, cls, msg):
        super().__init__("%s: %s" % (cls, msg))
        self.cls = self.group = cls


def refuse(cls, msg):
    raise Refused(cls, msg)


# ---- safetensors (protocol.md §3.1) and the canonical writer ----------------------------------

SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2,
         "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
NUMPY = {"I8": "<i1", "I32": "<i4"}


def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        refuse("format", "duplicate JSON key")
    return dict(pairs)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def read_safetensors(buf):
    """Returns (metadata, {name: (dtype, shape, int64 array or None)}); only I8/I32 are decoded,
    other known dtypes are kept so that the model layer can name them as a `shape` error."""
    if len(buf) < 8:
        refuse("format", "no header length")
    (n,) = struct.unpack("<Q", buf[:8])
    if n > 100 << 20 or 8 + n > len(buf):
        refuse("format", "header length %d" % n)
    try:  # JSON whitespace may follow the object within the stated length (the padding)
        head = json.loads(buf[8:8 + n].decode("utf-8"), object_pairs_hook=_no_duplicates)
    except ValueError:  # includes UnicodeDecodeError; a duplicate key raises Refused itself
        refuse("format", "header is not JSON")
    if not isinstance(head, dict):
        refuse("format", "header is not an object")
    meta = head.pop("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        refuse("format", "__metadata__ must map strings to strings")
    data, spans, tensors = buf[8 + n:], [], {}
    for name, e in head.items():
        if (not isinstance(e, dict) or set(e) != {"dtype", "shape", "data_offsets"}
                or e["dtype"] not in SIZES or not isinstance(e["shape"], list)
                or not all(is_int(d) and d >= 0 for d in e["shape"])
                or not isinstance(e["data_offsets"], list) or len(e["data_offsets"]) != 2
                or not all(is_int(o) for o in e["data_offsets"])):
            refuse("format", "bad tensor entry %r" % name)
        lo, hi = e["data_offsets"]
        if hi - lo != int(np.prod(e["shape"], dtype=object)) * SIZES[e["dtype"]]:
            refuse("format", "tensor %r: length does not match its shape" % name)
        spans.append((lo, hi, name))
    at = 0
    for lo, hi, name in sorted(spans):  # the tensors tile the data section, nothing after it
        if lo != at:
            refuse("format", "gap or overlap at tensor %r" % name)
        at = hi
    if at != len(data):
        refuse("format", "%d bytes after the last tensor" % (len(data) - at))
    for lo, hi, name in spans:
        e = head[name]
        arr = None
        if e["dtype"] in NUMPY:
            arr = np.frombuffer(data[lo:hi], NUMPY[e["dtype"]]).astype(np.int64).reshape(e["shape"])
        tensors[name] = (e["dtype"], list(e["shape"]), arr)
    return meta, tensors


def go_json(s):
    """A JSON string as Go's encoding/json writes it (HTML-safe, \\u2028/9 escaped, Go >= 1.22)."""
    esc = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
    out = []
    for ch in s:
        o = ord(ch)
        if ch in esc:
            out.append(esc[ch])
        elif o < 0x20 or ch in "<>&" or o in (0x2028, 0x2029):
            out.append("\\u%04x" % o)
        elif 0xD800 <= o < 0xE000:
            out.append("\ufffd")  # a lone surrogate is invalid UTF-8, which Go replaces
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def write_safetensors(meta, tensors):
    """The canonical file: sorted compact metadata, tensors by decreasing element size then name
    (byte order), header padded with spaces to a multiple of 8, data contiguous in that order.
    `tensors` maps name -> (dtype, shape, int array)."""
    order = sorted(tensors, key=lambda k: (-SIZES[tensors[k][0]], k.encode()))
    parts, blobs, at = [], [], 0
    if meta:
        keys = sorted(meta, key=lambda k: k.encode())
        parts.append('"__metadata__":{%s}' % ",".join(go_json(k) + ":" + go_json(meta[k]) for k in keys))
    for name in order:
        dtype, shape, arr = tensors[name]
        blob = np.asarray(arr, dtype=np.int64).astype(NUMPY[dtype]).tobytes()
        parts.append('%s:{"dtype":"%s","shape":[%s],"data_offsets":[%d,%d]}' % (
            go_json(name), dtype, ",".join(str(int(d)) for d in shape), at, at + len(blob)))
        blobs.append(blob)
        at += len(blob)
    head = ("{" + ",".join(parts) + "}").encode()
    head += b" " * (-len(head) % 8)
    return struct.pack("<Q", len(head)) + head + b"".join(blobs)


# ---- the model file (model.md §2, §5, §6) -----------------------------------------------------

NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
UNSIGNED, SIGNED = re.compile(r"0|[1-9][0-9]*"), re.compile(r"0|-?[1-9][0-9]*")
ARITY = {"embed": 1, "linear": 1, "matmul": 2, "softmax": 1, "layernorm": 1, "rmsnorm": 1, "lut": 1,
         "add": 2, "mul": 2, "argmax": 1, "slice": 1, "concat": 2, "position": 1}
FIELDS = {  # integer metadata fields in §5's order
    "linear": ["shift", "zero_point", "relu"],
    "matmul": ["zero_a", "zero_b", "trans_b", "causal", "multiplier", "shift", "zero_point", "relu"],
    "softmax": ["causal"], "layernorm": ["shift", "eps"], "rmsnorm": ["shift", "eps", "zero_x"],
    "add": ["zero_a", "zero_b", "mul_a", "mul_b", "shift", "zero_out"],
    "mul": ["zero_a", "zero_b", "mul", "shift", "zero_out"], "slice": ["offset", "width"]}
TENSORS = {"embed": {"table": "I8"}, "position": {"table": "I8"}, "lut": {"table": "I8"},
           "linear": {"weight": "I8", "bias": "I32", "multiplier": "I32"}, "softmax": {"table": "I32"},
           "layernorm": {"gamma": "I32", "beta": "I32"}, "rmsnorm": {"gamma": "I32", "beta": "I32"}}
M31, W24 = (1, 2**31 - 1), (1, 2**24)
RANGE = {"shift": (1, 62), "relu": (0, 1), "trans_b": (0, 1), "causal": (0, 1), "eps": (0, 2**46),
         "multiplier": M31, "mul_a": M31, "mul_b": M31, "mul": M31, "offset": (0, 2**24 - 1),
         "width": W24}  # zero_* and zero_point: int8
T = "T"  # the width symbol: the pass's sequence length


def integer(s, signed, what, limit=2**63):
    if not (SIGNED if signed else UNSIGNED).fullmatch(s):
        refuse("integer", "%s = %r" % (what, s))
    v = int(s)
    if limit and not -limit <= v < limit:  # beyond every integer type the field could have
        refuse("param", "%s = %s" % (what, s))
    return v


def in_range(v, lo, hi, what):
    if not lo <= v <= hi:
        refuse("param", "%s = %d outside [%d, %d]" % (what, v, lo, hi))


def load_model(buf):
    """Parses and validates a model file in model.md §6's order. Returns a dict with the input's
    name, dtype and width and `ops`, each with kind, name, operand ids, fields, tensors, width."""
    meta, tensors = read_safetensors(buf)
    glob = {"probity.format", "input.name", "input.dtype", "input.width"}
    if meta.get("probity.format") != "model/v1" or not glob <= set(meta):
        refuse("layout", "missing global keys or probity.format is not model/v1")
    key = re.compile(r"ops\.([^.]*)\.(.+)")
    owned = {}  # op index string -> ({field: value}, {tensor suffix: name})
    for k in meta:
        m = key.fullmatch(k)
        if k not in glob and not m:
            refuse("layout", "metadata key %r" % k)
        if m:
            owned.setdefault(m.group(1), ({}, {}))[0][m.group(2)] = meta[k]
    for k in tensors:
        m = key.fullmatch(k)
        if not m:
            refuse("layout", "tensor %r belongs to no op" % k)
        owned.setdefault(m.group(1), ({}, {}))[1][m.group(2)] = k
    idx = sorted(i for i in owned if "kind" in owned[i][0])
    L = len(idx)
    if L == 0 or set(idx) != {str(i) for i in range(L)} or set(owned) != set(idx):
        refuse("layout", "ops are not numbered 0..L-1")
    ops = []
    for i in range(L):
        f, tn = owned[str(i)]
        kind = f["kind"]
        if kind not in ARITY:
            refuse("kind", "op %d: kind %r" % (i, kind))
        if set(f) != {"kind", "name", "inputs"} | set(FIELDS.get(kind, [])):
            refuse("layout", "op %d: metadata keys %s" % (i, sorted(f)))
        if set(tn) != set(TENSORS.get(kind, {})):
            refuse("layout", "op %d: tensors %s" % (i, sorted(tn)))
        ops.append({"kind": kind, "name": f["name"], "raw": f,
                    "tensors": {s: tensors[n] for s, n in tn.items()}})
    for i, op in enumerate(ops):
        for s, want in TENSORS.get(op["kind"], {}).items():
            if op["tensors"][s][0] != want:
                refuse("shape", "op %d: %s is %s, not %s" % (i, s, op["tensors"][s][0], want))
            op["tensors"][s] = op["tensors"][s][2]
        if op["kind"] == "softmax" and op["tensors"]["table"].shape != (256,):
            refuse("shape", "op %d: exp table of %s entries" % (i, op["tensors"]["table"].shape))
    width = integer(meta["input.width"], False, "input.width")
    for i, op in enumerate(ops):
        op["fields"] = {k: integer(op["raw"][k], k.startswith("zero"), "ops.%d.%s" % (i, k))
                        for k in FIELDS.get(op["kind"], [])}
    dtype = meta["input.dtype"]
    if dtype not in ("I32", "I8"):
        refuse("param", "input.dtype %r" % dtype)
    names = [meta["input.name"]] + [op["name"] for op in ops]
    for i, op in enumerate(ops):
        op["inputs"] = op["raw"]["inputs"].split(",")
        for n in op["inputs"]:
            if n not in names:
                refuse("resolve", "op %d: operand %r names no tensor" % (i, n))
    if not NAME.fullmatch(names[0]):
        refuse("name", "input name %r" % names[0])
    if width != 1 if dtype == "I32" else not W24[0] <= width <= W24[1]:
        refuse("param", "input.width %d for %s" % (width, dtype))
    types = [(dtype, 1 if dtype == "I32" else width)]  # (dtype, width) of each tensor id
    for i, op in enumerate(ops):
        if len(op["inputs"]) != ARITY[op["kind"]]:
            refuse("resolve", "op %d: %d operands" % (i, len(op["inputs"])))
        op["ids"] = [names.index(n) for n in op["inputs"]]
        if any(t > i for t in op["ids"]):
            refuse("order", "op %d reads a tensor written by itself or a later op" % i)
        types.append(check_op(i, op, [types[t] for t in op["ids"]]))
        if not NAME.fullmatch(op["name"]) or op["name"] in names[:i + 1]:
            refuse("name", "op %d: result name %r" % (i, op["name"]))
    # A reader re-encodes and compares (model.md §5), so one model has exactly one file.
    if write_safetensors(meta, tensors) != buf:
        refuse("canonical", "not the canonical encoding of its model")
    return {"input": names[0], "dtype": dtype, "ops": ops, "types": types}


def check_op(i, op, args):
    """Parameter shapes and ranges, then §2's shape rules; returns the result's (dtype, width)."""
    kind, f, t = op["kind"], op["fields"], op["tensors"]

    def shape(ok, what):
        if not ok:
            refuse("shape", "op %d (%s): %s" % (i, kind, what))

    for s, a in t.items():  # matrices for embed, position, linear weights; vectors otherwise
        rank = 2 if s == "weight" or kind in ("embed", "position") else 1
        if kind != "lut":  # a lut table of the wrong length is `param` (ops.md §6), below
            shape(a.ndim == rank and all(W24[0] <= d <= W24[1] for d in a.shape),
                  "parameter %s of shape %s" % (s, a.shape))
    if kind == "linear":
        N = t["weight"].shape[0]
        shape(t["bias"].shape == (N,) and t["multiplier"].shape == (N,),
              "bias or multipliers not for %d columns" % N)
    if kind in ("layernorm", "rmsnorm"):
        shape(t["gamma"].shape == t["beta"].shape, "gamma and beta differ")
    for k, v in f.items():
        in_range(v, *RANGE.get(k, (-128, 127)), what="ops.%d.%s" % (i, k))
    if kind == "linear" and not ((t["multiplier"] >= 1) & (t["multiplier"] < 2**31)).all():
        refuse("param", "op %d: a multiplier outside [1, 2^31)" % i)
    if kind == "softmax":
        try:
            ref.exp_table([int(v) for v in t["table"]])
        except ref.OpError:
            refuse("param", "op %d: exp table" % i)
    if kind == "lut" and t["table"].shape != (256,):
        refuse("param", "op %d: lut table of shape %s" % (i, t["table"].shape))
    (da, wa), (db, wb) = args[0], (args + [(None, None)])[1]
    if kind not in ("embed", "position"):
        shape(da == "I8" and db in (None, "I8"), "operands must be I8")
    const = wa != T
    if kind == "embed":
        shape(da == "I32", "ids must be I32")
        return "I8", t["table"].shape[1]
    if kind == "position":
        return "I8", t["table"].shape[1]
    if kind == "linear":
        shape(wa == t["weight"].shape[1], "input width %s, weights %s" % (wa, t["weight"].shape))
        return "I8", t["weight"].shape[0]
    if kind == "matmul":
        shape(wa == wb if f["trans_b"] else wa == T, "widths %s, %s" % (wa, wb))
        return "I8", T if f["trans_b"] else wb
    if kind == "softmax":
        shape((wa == T or wa <= 2**16) and (wa == T or not f["causal"]), "width %s" % wa)
    if kind in ("layernorm", "rmsnorm"):
        shape(const and wa <= 2**15 and t["gamma"].shape == (wa,), "width %s" % wa)
    if kind in ("add", "mul"):
        shape(wa == wb, "widths %s, %s" % (wa, wb))
    if kind == "argmax":
        return "I32", 1
    if kind == "slice":
        shape(const and f["offset"] + f["width"] <= wa, "columns beyond width %s" % wa)
        return "I8", f["width"]
    if kind == "concat":
        shape(const and wb != T and wa + wb <= 2**24, "widths %s, %s" % (wa, wb))
        return "I8", wa + wb
    return "I8", wa


# ---- one pass of the model (model.md §1-§2, ops.md) -------------------------------------------

def i8(a):
    return {"dtype": "I8", "shape": list(a.shape), "data": a.reshape(-1)}


def i32(a):
    return {"dtype": "I32", "shape": list(a.shape), "data": a}


def op_args(kind, f, t, a, b):
    """ops_ref's (params, inputs) for one op instance of the model."""
    epi = {"multiplier": f.get("multiplier"), "shift": f.get("shift"),
           "zeroPoint": f.get("zero_point"), "relu": f.get("relu")}
    two = {"a": i8(a), "b": i8(b)} if b is not None else None
    zeros = {"zeroA": f.get("zero_a"), "zeroB": f.get("zero_b"), "shift": f.get("shift"),
             "zeroOut": f.get("zero_out")}
    if kind == "embed":
        return {}, {"table": i8(t["table"]), "ids": i32(a)}
    if kind == "linear":
        return (dict(epi, multipliers=[int(m) for m in t["multiplier"]]),
                {"a": i8(a), "w": i8(t["weight"]), "b": i32(t["bias"])})
    if kind == "matmul":
        return dict(zeros, epilogue=epi, transB=f["trans_b"], causal=f["causal"]), two
    if kind == "softmax":
        return {"table": [int(v) for v in t["table"]], "causal": f["causal"]}, {"x": i8(a)}
    if kind in ("layernorm", "rmsnorm"):
        return ({"shift": f["shift"], "eps": f["eps"], "zeroX": f.get("zero_x")},
                {"x": i8(a), "gamma": i32(t["gamma"]), "beta": i32(t["beta"])})
    if kind == "lut":
        return {"table": [int(v) for v in t["table"]]}, {"x": i8(a)}
    if kind == "add":
        return dict(zeros, mulA=f["mul_a"], mulB=f["mul_b"]), two
    if kind == "mul":
        return dict(zeros, mul=f["mul"]), two
    return {}, {"x": i8(a)}  # argmax


def forward(model, x):
    """All L + 1 tensors of one pass over the input rows x (int64 arrays, I32 ones of rank 1)."""
    vals, n = [np.asarray(x, dtype=np.int64)], len(x)
    for i, op in enumerate(model["ops"]):
        kind, f, t = op["kind"], op["fields"], op["tensors"]
        a = vals[op["ids"][0]]
        b = vals[op["ids"][1]] if len(op["ids"]) > 1 else None
        if kind == "slice":
            y = a[:, f["offset"]:f["offset"] + f["width"]]
        elif kind == "concat":
            y = np.concatenate([a, b], axis=1)
        elif kind == "position":
            if n > len(t["table"]):
                refuse("context", "op %d: row %d is beyond the position table" % (i, len(t["table"])))
            y = t["table"][:n]
        else:
            try:
                y, _ = ref.OPS[kind](*op_args(kind, f, t, a, b))
            except ref.OpError as e:
                refuse(e.cls, "op %d (%s) at %s" % (i, kind, e.at))
        vals.append(np.ascontiguousarray(y, dtype=np.int64))
    return vals


# ---- the job (trace.md §1) and generation (§2, §3) --------------------------------------------

BN254 = 21888242871839275222246405745257275088548364400416034343698204186575808495617
GAMMA = 0x9E3779B97F4A7C15  # SplitMix64's increment: after s draws the state is seed + s * GAMMA


def load_job(buf, model):
    """The job of a job file, checked against the model. A failure's `group` says which rules it
    broke: "file" for the file's (§1.1), "invalid" for the job's (§1, an invalid job)."""
    try:
        job = parse_job_file(buf)
    except Refused as e:
        e.group = "file"
        raise
    try:
        check_job(job, model)
    except Refused as e:
        e.group = "invalid"
        raise
    return job


def parse_job_file(buf):
    meta, tensors = read_safetensors(buf)
    sample = meta.get("select") == "sample"
    keys, names = {"probity.format", "model.root", "new", "select"}, {"prompt"}
    if sample:
        keys, names = keys | {"sample.k", "sample.seed"}, names | {"sample.table"}
    if meta.get("probity.format") != "job/v1" or set(meta) != keys or set(tensors) != names:
        refuse("layout", "job keys %s, tensors %s" % (sorted(meta), sorted(tensors)))
    # A BN254 field element; not compared with the model's root (that needs Poseidon2, see above).
    if integer(meta["model.root"], False, "model.root", None) >= BN254:
        refuse("param", "model.root is not a field element")
    job = {"new": integer(meta["new"], False, "new"), "select": meta["select"]}
    if meta["select"] not in ("argmax", "sample"):
        refuse("param", "select %r" % meta["select"])
    for name, (dt, shape, arr) in tensors.items():
        if dt != "I32" or len(shape) != 1 or (name != "prompt" and shape != [256]):
            refuse("shape", "%s is %s %s" % (name, dt, shape))
    if sample:
        job["k"] = integer(meta["sample.k"], False, "sample.k")
        job["seed"] = integer(meta["sample.seed"], False, "sample.seed", 2**64)
        job["table"] = [int(v) for v in tensors["sample.table"][2]]
    if write_safetensors(meta, tensors) != buf:
        refuse("canonical", "not the canonical encoding of its job")
    job["prompt"] = [int(v) for v in tensors["prompt"][2]]
    return job


def check_job(job, model):
    ops, (dtype, V) = model["ops"], model["types"][-1]
    if model["dtype"] != "I32" or dtype != "I8" or V == T:
        refuse("model", "the model does not map token ids to I8 logits of constant width")
    if any(op["kind"] == "matmul" and not op["fields"]["causal"] for op in ops):
        refuse("model", "the model is not causal (a matmul has causal = 0)")
    prompt = np.array(job["prompt"], dtype=np.int64)
    if len(prompt) < 1:
        refuse("shape", "an empty prompt")
    for op in ops:  # V_embed of §1: the rows of each embed table the input ids index
        if op["kind"] == "embed" and op["ids"][0] == 0:
            if not ((prompt >= 0) & (prompt < len(op["tensors"]["table"]))).all():
                refuse("token", "a prompt id outside the embed table")
    if job["new"] < 1:
        refuse("param", "new = 0")
    Tn = len(prompt) + job["new"] - 1
    context = min([2**20] + [len(op["tensors"]["table"]) for op in ops if op["kind"] == "position"])
    if Tn > context:
        refuse("context", "T = %d rows exceed the context %d" % (Tn, context))
    if job["select"] == "sample":
        if not 1 <= job["k"] <= V:
            refuse("param", "sample.k = %d outside [1, %d]" % (job["k"], V))
        try:
            ref.exp_table(job["table"])
        except ref.OpError:
            refuse("param", "sample.table is not an exp table")


def select(job, Z, first):
    """The tokens of logits rows Z (I8 [r, V]), the first being generated token `first`."""
    if job["select"] == "argmax":
        return [int(g) for g in ref.op_argmax({}, {"x": i8(Z)})[0]]
    p = {"table": job["table"], "k": job["k"], "seed": (job["seed"] + first * GAMMA) % 2**64}
    return [int(g) for g in ref.op_sample(p, {"x": i8(Z)})[0]]


def generate(model, job):
    """Returns (trace tensors, tokens) computed with one full pass per generated token."""
    x, n, P = list(job["prompt"]), job["new"], len(job["prompt"])
    steps, tokens = [], []  # steps[s]: (first new row, tensors of pass s)
    for s in range(n):
        vals = forward(model, x)
        tokens.append(select(job, vals[-1][-1:], s)[0])
        # Keep only the rows this pass adds: the prefill, then one decode row per step; these
        # are the rows a KV-cache executor computes, to be compared with the one pass below.
        lo = 0 if s == 0 else P + s - 1
        steps.append((lo, [v[lo:].copy() for v in vals]))
        if s < n - 1:
            x.append(tokens[-1])
    final = vals  # the last pass is the one pass over all T = P + n - 1 rows (trace.md §2)
    for lo, part in steps[:-1]:
        for t, (row, full) in enumerate(zip(part, final)):
            hi = lo + len(row)
            want = full[lo:hi] if full.ndim == 1 else full[lo:hi, :row.shape[1]]
            if not np.array_equal(row, want):
                refuse("causal", "tensor %d rows [%d, %d) differ between a pass over the first %d "
                       "rows and the pass over all %d" % (t, lo, hi, hi, len(final[0])))
    if select(job, final[-1][P - 1:], 0) != tokens:
        refuse("causal", "the tokens differ from the selection over the trace's logits")
    return final, tokens


def encode(model, vals, tokens):
    names = [model["input"]] + [op["name"] for op in model["ops"]]
    trace = {nm: ("I32" if v.ndim == 1 else "I8", list(v.shape), v) for nm, v in zip(names, vals)}
    result = {"tokens": ("I32", [len(tokens)], tokens)}
    return write_safetensors({}, trace), write_safetensors({}, result)


def execute(model_bytes, job_bytes):
    model = load_model(model_bytes)
    return encode(model, *generate(model, load_job(job_bytes, model)))


# ---- checks -----------------------------------------------------------------------------------

def vectors(path):
    """trace.json: every `ok` case reproduced byte for byte, every other case refused; a refusal
    of another class than the case's (file, invalid) is reported but is not a failure."""
    def unhex(h):
        return bytes.fromhex(h[2:] if h.startswith("0x") else h)

    bad, cases = 0, json.load(open(path))["cases"]
    for c in cases:
        try:
            outs, got, why = execute(unhex(c["model"]), unhex(c["job"])), "ok", ""
        except Refused as e:
            got, why = e.group, str(e)
        if c["expect"] == "ok" and (got != "ok" or outs != (unhex(c["trace"]), unhex(c["result"]))):
            bad += 1
            print("model_ref: %s: %s" % (c["name"], why or "outputs differ"))
        elif c["expect"] != "ok" and got == "ok":
            bad += 1
            print("model_ref: %s: computed, but the case expects %s" % (c["name"], c["expect"]))
        elif got != c["expect"]:
            print("model_ref: note: %s: refused (%s), the case says %s" % (c["name"], why, c["expect"]))
    print("model_ref: %s: %d of %d cases of %s agree" % (
        "FAIL" if bad else "ok", len(cases) - bad, len(cases), path))
    return 1 if bad else 0


def build_decoder(rng, V=24, ctx=12, d=8, H=2, blocks=2, causal_softmax=1, vout=None):
    """A random model.md §8 decoder as a canonical model file, plus rmsnorm and a gated MLP (mul)
    in odd blocks and argmax -> embed in the last (an I32 tensor inside the trace), so that every
    op kind runs. Scales keep most activations unsaturated. `vout` sets the logits' width."""
    meta = {"probity.format": "model/v1", "input.name": "ids", "input.dtype": "I32",
            "input.width": "1"}
    tens, count = {}, [0]

    def op(kind, name, inputs, fields=(), **tensors):
        i, count[0] = count[0], count[0] + 1
        meta.update({"ops.%d.kind" % i: kind, "ops.%d.name" % i: name,
                     "ops.%d.inputs" % i: ",".join(inputs)})
        meta.update({"ops.%d.%s" % (i, k): str(int(v)) for k, v in dict(fields).items()})
        for s, (dt, arr) in tensors.items():
            tens["ops.%d.%s" % (i, s)] = (dt, list(arr.shape), arr)
        return name

    def r8(*shape):
        return rng.integers(-64, 64, shape)

    def linear(name, x, N, K, relu=0):
        # multiplier / 2^36 ~ 40 / std(acc) per column: outputs of a few tens
        m = (2**36 * 40 / (37 * 37 * K**0.5) * rng.uniform(0.5, 1.5, N)).astype(np.int64)
        return op("linear", name, [x], dict(shift=36, zero_point=int(rng.integers(-4, 5)), relu=relu),
                  weight=("I8", r8(N, K)), bias=("I32", rng.integers(-2000, 2000, N)),
                  multiplier=("I32", m))

    def norm(name, x, rms=False):
        g, b = ("I32", rng.integers(24, 40, d)), ("I32", rng.integers(-8, 8, d))
        if rms:
            return op("rmsnorm", name, [x], dict(shift=12, eps=1, zero_x=int(rng.integers(-3, 4))),
                      gamma=g, beta=b)
        return op("layernorm", name, [x], dict(shift=12, eps=1), gamma=g, beta=b)

    add = dict(zero_a=0, zero_b=0, mul_a=2**29, mul_b=2**29, shift=30, zero_out=0)
    scores = dict(zero_a=0, zero_b=0, trans_b=1, causal=1, multiplier=687194767, shift=36,
                  zero_point=0, relu=0)
    pv = dict(zero_a=-128, zero_b=0, trans_b=0, causal=1, multiplier=2**30, shift=38,
              zero_point=0, relu=0)
    exp = ("I32", np.round(2**15 * np.exp(-0.08 * np.arange(256))).astype(np.int64))
    q = np.arange(-128, 128) / 16
    gelu = ("I8", np.clip(np.round(16 * q / (1 + np.exp(-1.702 * q))), -128, 127).astype(np.int64))
    dh = d // H
    x = op("add", "embed", [op("embed", "wte", ["ids"], table=("I8", r8(V, d))),
                            op("position", "wpe", ["ids"], table=("I8", r8(ctx, d)))], add)
    for bl in range(blocks):
        p = "h%d_" % bl
        qkv = linear(p + "attn_c_attn", norm(p + "ln_1", x), 3 * d, d)
        heads = None
        for h in range(H):
            hp = p + "h%d_" % h
            q_, k_, v_ = (op("slice", hp + c, [qkv], dict(offset=o * d + h * dh, width=dh))
                          for o, c in enumerate("qkv"))
            sc = op("matmul", hp + "scores", [q_, k_], scores)
            pr = op("softmax", hp + "probs", [sc], dict(causal=causal_softmax), table=exp)
            at = op("matmul", hp + "attn", [pr, v_], pv)
            heads = at if heads is None else op("concat", p + "heads_%d" % h, [heads, at])
        x = op("add", p + "resid_attn", [x, linear(p + "attn_c_proj", heads, d, d)], add)
        ln2 = norm(p + "ln_2", x, rms=bl % 2 == 1)
        hid = op("lut", p + "mlp_gelu", [linear(p + "mlp_c_fc", ln2, 4 * d, d)], table=gelu)
        if bl % 2 == 1:
            gate = linear(p + "mlp_gate", ln2, 4 * d, d, relu=1)
            hid = op("mul", p + "mlp_gated", [hid, gate],
                     dict(zero_a=0, zero_b=0, mul=2**28, shift=32, zero_out=0))
        x = op("add", p + "resid_mlp", [x, linear(p + "mlp_c_proj", hid, d, 4 * d)], add)
        if bl == blocks - 1:
            hint = op("embed", p + "hint", [op("argmax", p + "guess", [x])], table=("I8", r8(d, d)))
            x = op("add", p + "hinted", [x, hint], add)
    linear("logits", norm("ln_f", x), vout or V, d)
    return write_safetensors(meta, tens)


def job_file(prompt, n, k=None, seed=None, table=None, **edit):
    """A canonical job file; `edit` replaces (or, with None, drops) metadata keys."""
    meta = {"probity.format": "job/v1", "model.root": "1234", "new": str(n),
            "select": "argmax" if k is None else "sample"}
    tens = {"prompt": ("I32", [len(prompt)], np.array(prompt))}
    if k is not None:
        meta.update({"sample.k": str(k), "sample.seed": str(seed)})
        tens["sample.table"] = ("I32", [256], np.array(table))
    meta.update(edit)
    return write_safetensors({k: v for k, v in meta.items() if v is not None}, tens)


def padded(b):
    """The same file with eight more spaces of header padding (valid, but not canonical)."""
    (n,) = struct.unpack("<Q", b[:8])
    return struct.pack("<Q", n + 8) + b[8:8 + n] + b" " * 8 + b[8 + n:]


def selftest():
    import subprocess
    import tempfile
    rng, fails, tmp = np.random.default_rng(7), [], tempfile.mkdtemp(prefix="model_ref.")
    table = [int(round(2**15 * np.exp(-0.04 * e))) for e in range(256)]

    def check(label, cond):
        if not cond:
            fails.append(label)

    def run(model, job):
        """The executor as a command: ("ok", trace file, tokens) or (error class, None, None)."""
        mp, jp, out = (os.path.join(tmp, f) for f in ("model.safetensors", "job.safetensors", "out"))
        open(mp, "wb").write(model)
        open(jp, "wb").write(job)
        p = subprocess.run([sys.executable, os.path.abspath(__file__), mp, jp, out],
                           capture_output=True, text=True)
        if p.returncode:
            check("one-line message: %r" % p.stderr, p.stderr.count("\n") == 1)
            return (p.stderr.split(": ") + ["?"])[1], None, None
        trace = read_safetensors(open(os.path.join(out, "trace.safetensors"), "rb").read())
        result = read_safetensors(open(os.path.join(out, "result.safetensors"), "rb").read())
        return "ok", trace, list(result[1]["tokens"][2])

    def consistent(label, mbytes, job, prompt, new):
        """Runs a job and checks its files against the spec's equations (trace.md §2, §3)."""
        got, (meta, tr), tokens = (lambda r: (r[0], r[1] or (None, None), r[2]))(run(mbytes, job))
        if got != "ok":
            return fails.append("%s: refused (%s)" % (label, got))
        model = load_model(mbytes)
        P, Tn = len(prompt), len(prompt) + new - 1
        names = [model["input"]] + [o["name"] for o in model["ops"]]
        check(label + ": trace tensors", not meta and sorted(tr) == sorted(names))
        vals = [tr[nm][2] for nm in names]
        for v, (dt, w) in zip(vals, model["types"]):
            check(label + ": shapes", v.shape == ((Tn,) if dt == "I32" else (Tn, Tn if w == T else w)))
        check(label + ": input rows", list(vals[0]) == prompt + tokens[:-1] and len(tokens) == new)
        check(label + ": selection", select(load_job(job, model), vals[-1][P - 1:], 0) == tokens)
        for L in range(P, Tn + 1):  # every prefix pass against the trace's first L rows
            for t, (a, full) in enumerate(zip(forward(model, vals[0][:L]), vals)):
                check("%s: prefix %d, tensor %d" % (label, L, t),
                      np.array_equal(a, full[:L] if a.ndim == 1 else full[:L, :a.shape[1]]))
        return tokens

    models = [("decoder-1", build_decoder(rng, blocks=1)), ("decoder-2", build_decoder(rng, blocks=2))]
    vec = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../testdata/vectors/model.json")
    if os.path.exists(vec):  # model.md's vectors: each file loads or is refused with its class
        for c in json.load(open(vec))["cases"]:
            try:
                load_model(bytes.fromhex(c["file"][2:]))
                got = "ok"
            except Refused as e:
                got = e.cls
            check("model.json %s: %s, expected %s" % (c["name"], got, c["expect"]), got == c["expect"])
            if c["name"] == "decoder" and got == "ok":  # a Go-written decoder file
                models.append(("model.json decoder", bytes.fromhex(c["file"][2:])))
    for label, mb in models:
        ops = load_model(mb)["ops"]
        V = load_model(mb)["types"][-1][1]
        ctx = len(next(o for o in ops if o["kind"] == "position")["tensors"]["table"])
        prompt = [int(v) for v in rng.integers(0, V, 3)]
        new = ctx - len(prompt) + 1  # T is the whole context
        am = consistent(label + " argmax", mb, job_file(prompt, new), prompt, new)
        k1 = consistent(label + " sample k=1", mb, job_file(prompt, new, 1, 99, table), prompt, new)
        check(label + ": sample with k = 1 is argmax", am == k1)
        s1 = consistent(label + " sample", mb, job_file(prompt, new, 5, 2**64 - 2, table), prompt, new)
        s2 = consistent(label + " sample k=V", mb, job_file(prompt, new, V, 5, table), prompt, new)
        consistent(label + " one token", mb, job_file(prompt, 1, 3, 0, table), prompt, 1)
        consistent(label + " prompt of one", mb, job_file(prompt[:1], 4, 3, 1, table), prompt[:1], 4)
        print("model_ref: %s: argmax %s, sample %s, %s" % (label, am, s1, s2))
        for why, job, cls in [
                ("T beyond the context", job_file(prompt, new + 1), "context"),
                ("prompt id V", job_file([0, V], 2), "token"),
                ("prompt id -1", job_file([-1], 2), "token"),
                ("empty prompt", job_file([], 2), "shape"),
                ("new = 0", job_file(prompt, 0), "param"),
                ("new = +2", job_file(prompt, 2, new="+2"), "integer"),
                ("k = 0", job_file(prompt, 2, 0, 1, table), "param"),
                ("k = V + 1", job_file(prompt, 2, V + 1, 1, table), "param"),
                ("seed 2^64", job_file(prompt, 2, 2, 2**64, table), "param"),
                ("E[0] = 2^14", job_file(prompt, 2, 2, 1, [2**14] + table[1:]), "param"),
                ("no sample.seed", job_file(prompt, 2, 2, 1, table, **{"sample.seed": None}), "layout"),
                ("extra key", job_file(prompt, 2, extra="1"), "layout"),
                ("job/v0", job_file(prompt, 2, **{"probity.format": "job/v0"}), "layout"),
                ("select top", job_file(prompt, 2, select="top"), "param"),
                ("root 01", job_file(prompt, 2, **{"model.root": "01"}), "integer"),
                ("root r", job_file(prompt, 2, **{"model.root": str(BN254)}), "param"),
                ("padding", padded(job_file(prompt, 2)), "canonical"),
                ("trailing byte", job_file(prompt, 2) + b"\0", "format")]:
            got = run(mb, job)[0]
            check("%s, %s: %s, expected %s" % (label, why, got, cls), got == cls)
    # Causal matmuls alone do not make rows independent of T: a non-causal softmax over width-T
    # scores normalizes over the masked columns too, so prefix passes and one pass disagree.
    got = run(build_decoder(rng, blocks=1, causal_softmax=0), job_file([1, 2], 4))[0]
    check("non-causal softmax: %s, expected causal" % got, got == "causal")
    # Logits wider than the embed table: a generated id the next pass cannot embed.
    got = run(build_decoder(rng, V=4, vout=200, blocks=1), job_file([1], 8, 200, 3, table))[0]
    check("logits wider than the vocabulary: %s, expected token" % got, got == "token")
    for f in fails:
        print("model_ref: FAIL: " + f)
    print("model_ref: selftest %s" % ("FAILED (%d)" % len(fails) if fails else "ok"))
    return 1 if fails else 0


def main(argv):
    if argv[1:] == ["--selftest"]:
        return selftest()
    if argv[1:2] == ["--vectors"] and len(argv) == 3:
        return vectors(argv[2])
    if len(argv) != 4:
        print("usage: model_ref.py MODEL JOB OUT-DIR | --selftest | --vectors FILE", file=sys.stderr)
        return 2
    try:
        with open(argv[1], "rb") as m, open(argv[2], "rb") as j:
            trace, result = execute(m.read(), j.read())
        os.makedirs(argv[3], exist_ok=True)
        for name, blob in (("trace.safetensors", trace), ("result.safetensors", result)):
            with open(os.path.join(argv[3], name), "wb") as f:
                f.write(blob)
    except Refused as e:
        print("model_ref: %s" % e, file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001  (the contract wants one line, not a traceback)
        print("model_ref: internal: %s" % repr(e).replace("\n", " "), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
