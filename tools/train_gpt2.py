#!/usr/bin/python3
"""Train the small byte-level GPT-2 used by Probity's demo and tests, and write it as a
Hugging Face GPT-2 checkpoint (config.json + model.safetensors).

Self-contained PyTorch (no `transformers`). The corpus is the King James Bible, taken at run
time from the installed Debian packages: `bible-kjv-text` ships the text compressed and indexed
in /usr/lib/bible.data (+ .data.conc), and the `bible` program of package `bible-kjv` prints it;
`bible -f Gen1:1-Rev22:21` writes one verse a line prefixed by its reference ("Ge1:1 In the
beginning ..."). The reference is stripped, so the corpus is the 31,102 verses, one per line,
each ended by "\\n" (pure ASCII, about 4.3 MB). Nothing of the corpus is committed.

    apt-get install python3-torch bible-kjv bible-kjv-text libopenblas0-pthread  # OpenBLAS: optional, ~8x faster
    /usr/bin/python3 tools/train_gpt2.py --out testdata/models/kjv-gpt2 [--steps N] [--seed S]
    /usr/bin/python3 tools/train_gpt2.py --check testdata/models/kjv-gpt2

Model: vocab 256 (token id = byte value; bos = eos = 10, "\\n"), exactly GPT-2's forward:
pre-LN blocks, Conv1D projections (x @ W + b, W stored [in, out]), c_attn columns q | k | v with
head h at columns h*dh..(h+1)*dh inside each part, scores scaled by 1/sqrt(dh), causal mask,
gelu_new (tanh approximation), residuals, final ln_f, logits = h @ wte.T (lm_head tied, absent).

Output files in --out: config.json, model.safetensors (F32, GPT-2 tensor names without the
"transformer." prefix, sorted, contiguous), calibration.txt (start of the training split),
heldout.txt (start of the validation split, the last 5% of the corpus), both whole lines, <= 8 KB.

--check DIR reloads DIR/model.safetensors with plain json+struct+torch.frombuffer (no torch
serialization), checks the header, and prints the reference top-1 predictions; after training the
same reload is compared bit for bit (float32 logits) with the trained module.
"""

import argparse
import json
import math
import os
import platform
import re
import struct
import subprocess
import sys
import time

# Debian's python3-torch calls the system libblas.so.3, by default the slow reference BLAS
# (libblas3). When libopenblas0-pthread is installed, this script re-runs itself with OpenBLAS on
# its own library path (the system's BLAS alternative is left as it is); PROBITY_TRAIN_BLAS=system
# keeps whatever libblas.so.3 the system provides. OpenMP threads wait passively: on a shared
# 2-core machine spinning threads made steps up to 10x slower.
OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-pthread"
if __name__ == "__main__" and os.environ.get("PROBITY_TRAIN_REEXEC") != "1":
    env = dict(os.environ, PROBITY_TRAIN_REEXEC="1")
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    if (os.environ.get("PROBITY_TRAIN_BLAS") != "system"
            and os.path.exists(os.path.join(OPENBLAS_DIR, "libblas.so.3"))):
        env["LD_LIBRARY_PATH"] = ":".join(
            p for p in (OPENBLAS_DIR, os.environ.get("LD_LIBRARY_PATH")) if p)
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---- model sizes (fixed: the checkpoint in testdata/models/kjv-gpt2 is made with these) ------
VOCAB = 256
N_CTX = 128
N_EMBD = 64
N_HEAD = 4
N_LAYER = 2
EOS = 10  # "\n"

BATCH = 16
LR = 6e-3
WARMUP = 200
VAL_FRACTION = 0.05
SAMPLE_MAX = 8 * 1024
SAMPLE_TARGET = 6 * 1024
REF_BYTES = 64
PROMPT = "And God said"


def log(*a):
    print(*a, flush=True)


# ---- corpus -----------------------------------------------------------------------------------

def blas_in_use():
    with open("/proc/self/maps") as f:
        libs = sorted({ln.split()[-1] for ln in f if "blas" in ln and "/" in ln})
    return ", ".join(os.path.realpath(p) for p in libs) or "none"


def dpkg_version(pkg):
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True,
                             text=True, check=True).stdout
        return out.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


REF_RE = re.compile(r"^[1-3]?[A-Za-z]+[0-9]+:[0-9]+ ")


def load_corpus():
    """The KJV from the installed Debian package: one verse a line, reference stripped."""
    if not os.path.exists("/usr/lib/bible.data"):
        sys.exit("error: /usr/lib/bible.data missing: apt-get install bible-kjv-text")
    try:
        raw = subprocess.run(["bible", "-f", "Gen1:1-Rev22:21"], stdin=subprocess.DEVNULL,
                             capture_output=True, check=True, cwd="/").stdout
    except FileNotFoundError:
        sys.exit("error: the `bible` program is missing: apt-get install bible-kjv")
    lines = raw.decode("ascii").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    verses = []
    for ln in lines:
        m = REF_RE.match(ln)
        if not m:
            sys.exit("error: unexpected line from bible: %r" % ln[:80])
        verses.append(ln[m.end():].rstrip())
    text = "".join(v + "\n" for v in verses)
    return text.encode("ascii"), len(verses)


def whole_lines(buf, start, target, limit):
    """Bytes of buf from the first line start at or after `start`, whole lines, about `target`
    bytes and never over `limit`."""
    if start > 0 and buf[start - 1] != EOS:
        start = buf.index(b"\n", start) + 1
    end = start
    while end - start < target:
        nxt = buf.index(b"\n", end) + 1
        if nxt - start > limit:
            break
        end = nxt
    return buf[start:end]


# ---- GPT-2 ------------------------------------------------------------------------------------

class Conv1D(nn.Module):
    """HF GPT-2 Conv1D: weight [in, out], y = x @ W + b."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).reshape(
            *x.shape[:-1], self.weight.shape[1])


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Attention(nn.Module):
    def __init__(self, d, n_head):
        super().__init__()
        self.n_head, self.dh = n_head, d // n_head
        self.c_attn = Conv1D(d, 3 * d)
        self.c_proj = Conv1D(d, d)

    def forward(self, x):
        B, T, d = x.shape
        q, k, v = self.c_attn(x).split(d, dim=2)
        q = q.view(B, T, self.n_head, self.dh).transpose(1, 2)  # [B, H, T, dh]
        k = k.view(B, T, self.n_head, self.dh).transpose(1, 2)
        v = v.view(B, T, self.n_head, self.dh).transpose(1, 2)
        s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dh)
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        s = s.masked_fill(~causal, torch.finfo(s.dtype).min)
        a = torch.softmax(s, dim=-1)
        y = torch.matmul(a, v).transpose(1, 2).reshape(B, T, d)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.c_fc = Conv1D(d, 4 * d)
        self.c_proj = Conv1D(4 * d, d)

    def forward(self, x):
        return self.c_proj(gelu_new(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, d, n_head):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d, eps=1e-5)
        self.attn = Attention(d, n_head)
        self.ln_2 = nn.LayerNorm(d, eps=1e-5)
        self.mlp = MLP(d)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2(nn.Module):
    """state_dict() names are exactly the HF GPT2Model names (wte.weight, h.0.ln_1.weight, ...)."""

    def __init__(self, vocab=VOCAB, n_ctx=N_CTX, d=N_EMBD, n_head=N_HEAD, n_layer=N_LAYER):
        super().__init__()
        self.n_ctx = n_ctx
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(n_ctx, d)
        self.h = nn.ModuleList([Block(d, n_head) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(d, eps=1e-5)
        nn.init.normal_(self.wte.weight, std=0.02)
        nn.init.normal_(self.wpe.weight, std=0.01)
        for name, p in self.named_parameters():  # GPT-2's scaled init of residual projections
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * n_layer))

    def forward(self, idx):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for blk in self.h:
            x = blk(x)
        return torch.matmul(self.ln_f(x), self.wte.weight.t())


def config_json(n_ctx=N_CTX, d=N_EMBD, n_head=N_HEAD, n_layer=N_LAYER):
    return {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": VOCAB,
        "n_positions": n_ctx,
        "n_ctx": n_ctx,
        "n_embd": d,
        "n_layer": n_layer,
        "n_head": n_head,
        "n_inner": None,
        "activation_function": "gelu_new",
        "layer_norm_epsilon": 1e-05,
        "resid_pdrop": 0.0,
        "embd_pdrop": 0.0,
        "attn_pdrop": 0.0,
        "initializer_range": 0.02,
        "bos_token_id": EOS,
        "eos_token_id": EOS,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
    }


# ---- safetensors (written and read by hand) ---------------------------------------------------

def write_safetensors(path, tensors):
    names = sorted(tensors)
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0  # first, as safetensors writes it
    for n in names:
        t = tensors[n].detach().to(torch.float32).contiguous().cpu()
        b = t.numpy().astype("<f4", copy=False).tobytes()
        header[n] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    hj = json.dumps(header, separators=(",", ":")).encode("utf-8")
    hj += b" " * ((-len(hj)) % 8)  # pad so the data starts 8-aligned (allowed by the format)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Plain reader: json + struct + torch.frombuffer. Checks sorted, contiguous, F32 layout."""
    with open(path, "rb") as f:
        data = f.read()
    (hlen,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + hlen].decode("utf-8"))
    meta = header.pop("__metadata__", None)
    if meta != {"format": "pt"}:
        raise ValueError("metadata %r" % meta)
    body = data[8 + hlen:]
    out, off = {}, 0
    for n in sorted(header, key=lambda n: header[n]["data_offsets"][0]):
        e = header[n]
        a, b = e["data_offsets"]
        if e["dtype"] != "F32" or a != off or b - a != 4 * math.prod(e["shape"]):
            raise ValueError("bad entry %s %r" % (n, e))
        if sys.byteorder != "little":
            raise ValueError("big-endian host")
        out[n] = torch.frombuffer(bytearray(body[a:b]), dtype=torch.float32).reshape(e["shape"])
        off = b
    if off != len(body):
        raise ValueError("trailing bytes")
    if list(out) != sorted(out):
        raise ValueError("tensors not in sorted name order")
    return out


def load_model(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    m = GPT2(cfg["vocab_size"], cfg["n_positions"], cfg["n_embd"], cfg["n_head"], cfg["n_layer"])
    sd = read_safetensors(os.path.join(d, "model.safetensors"))
    m.load_state_dict(sd, strict=True)
    return m.eval(), sd


# ---- evaluation, generation, reference --------------------------------------------------------

@torch.no_grad()
def eval_loss(model, windows, bs=256):
    tot, n = 0.0, 0
    for i in range(0, len(windows), bs):
        w = windows[i:i + bs]
        logits = model(w[:, :-1])
        tot += F.cross_entropy(logits.reshape(-1, VOCAB), w[:, 1:].reshape(-1), reduction="sum").item()
        n += w[:, 1:].numel()
    return tot / n


@torch.no_grad()
def greedy(model, prompt, n_new):
    ids = list(prompt)
    for _ in range(n_new):
        ctx = torch.tensor([ids[-model.n_ctx:]], dtype=torch.long)
        ids.append(int(model(ctx)[0, -1].argmax()))
    return bytes(ids)


@torch.no_grad()
def reference(model, calib):
    x = torch.tensor([list(calib[:REF_BYTES])], dtype=torch.long)
    logits = model(x)[0]
    top1 = logits.argmax(dim=-1).tolist()
    log("reference: top-1 next byte after each prefix of calibration.txt[:%d] (float32):" % REF_BYTES)
    log("  input  %r" % calib[:REF_BYTES].decode("ascii"))
    log("  top1   %r" % bytes(top1).decode("latin-1"))
    log("  top1 ids %s" % json.dumps(top1, separators=(",", ":")))
    log("  logit[top1] %s" % " ".join("%.6f" % logits[i, t].item() for i, t in enumerate(top1[:8])) + " ...")
    return logits


def check_dir(d, trained=None):
    m, sd = load_model(d)
    cfg = json.load(open(os.path.join(d, "config.json")))
    log("check: %s: %d tensors, %d parameters" % (d, len(sd), sum(t.numel() for t in sd.values())))
    for n, t in sd.items():
        log("  %-26s %s" % (n, list(t.shape)))
    assert cfg == config_json(cfg["n_positions"], cfg["n_embd"], cfg["n_head"], cfg["n_layer"]), "config.json"
    calib = open(os.path.join(d, "calibration.txt"), "rb").read()
    held = open(os.path.join(d, "heldout.txt"), "rb").read()
    ok = True
    if trained is not None:
        tsd = trained.state_dict()
        if sorted(tsd) != sorted(sd):
            log("check: FAIL names differ"); ok = False
        for n in tsd:
            if not torch.equal(tsd[n], sd[n]):
                log("check: FAIL tensor %s differs" % n); ok = False
        x = torch.tensor([list(held[:m.n_ctx])], dtype=torch.long)
        with torch.no_grad():
            a, b = trained.eval()(x), m(x)
        same = torch.equal(a, b) and a.numpy().tobytes() == b.numpy().tobytes()
        log("check: reloaded logits vs trained module on heldout.txt[:%d]: %s (max |diff| %g)"
            % (m.n_ctx, "bit-identical" if same else "DIFFER", (a - b).abs().max().item()))
        ok = ok and same
    reference(m, calib)
    return ok


# ---- main -------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="output directory")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--check", metavar="DIR", help="only reload and check DIR")
    args = ap.parse_args()
    torch.set_num_threads(2)
    if args.check:
        sys.exit(0 if check_dir(args.check) else 1)
    if not args.out:
        ap.error("--out or --check is required")
    torch.manual_seed(args.seed)
    log("torch %s (python3-torch %s), python %s, %s, threads %d" % (
        torch.__version__, dpkg_version("python3-torch"), platform.python_version(),
        platform.machine(), torch.get_num_threads()))
    log("blas: %s; OMP_WAIT_POLICY=%s OPENBLAS_NUM_THREADS=%s" % (
        blas_in_use(), os.environ.get("OMP_WAIT_POLICY"), os.environ.get("OPENBLAS_NUM_THREADS")))

    t0 = time.time()
    corpus, nverse = load_corpus()
    log("corpus: bible-kjv-text %s via bible-kjv %s: %d verses, %d bytes, %d distinct bytes (%.2fs)"
        % (dpkg_version("bible-kjv-text"), dpkg_version("bible-kjv"), nverse, len(corpus),
           len(set(corpus)), time.time() - t0))
    split = int(len(corpus) * (1 - VAL_FRACTION))
    split = corpus.index(b"\n", split) + 1  # validation starts at a verse
    train, val = corpus[:split], corpus[split:]
    log("split: train %d bytes, validation %d bytes (last %.0f%%, from %r...)"
        % (len(train), len(val), 100 * VAL_FRACTION, val[:40].decode()))
    calib = whole_lines(train, 0, SAMPLE_TARGET, SAMPLE_MAX)
    held = whole_lines(val, 0, SAMPLE_TARGET, SAMPLE_MAX)

    tr = torch.frombuffer(bytearray(train), dtype=torch.uint8).long()
    va = torch.frombuffer(bytearray(val), dtype=torch.uint8).long()
    W = N_CTX + 1
    val_windows = va[: (len(va) // W) * W].view(-1, W)  # every validation byte, non-overlapping
    g = torch.Generator().manual_seed(args.seed + 1)
    train_eval = tr[torch.randint(0, len(tr) - W, (len(val_windows),), generator=g)[:, None] + torch.arange(W)]

    model = GPT2()
    nparam = sum(p.numel() for p in model.parameters())
    log("model: GPT-2 d=%d H=%d L=%d N=%d vocab=%d: %d parameters (%d bytes F32)"
        % (N_EMBD, N_HEAD, N_LAYER, N_CTX, VOCAB, nparam, 4 * nparam))
    decay = [p for n, p in model.named_parameters() if p.dim() == 2]
    nodecay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": nodecay, "weight_decay": 0.0}], lr=LR, betas=(0.9, 0.95))

    def lr_at(s):
        if s < WARMUP:
            return LR * (s + 1) / WARMUP
        p = (s - WARMUP) / max(1, args.steps - WARMUP)
        return LR * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))

    log("train: %d steps, batch %d x %d bytes, AdamW lr %g (warmup %d, cosine to 10%%), seed %d"
        % (args.steps, BATCH, N_CTX, LR, WARMUP, args.seed))
    t1 = time.time()
    model.train()
    for step in range(args.steps):
        for grp in opt.param_groups:
            grp["lr"] = lr_at(step)
        ix = torch.randint(0, len(tr) - W, (BATCH,), generator=g)
        w = tr[ix[:, None] + torch.arange(W)]
        logits = model(w[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, VOCAB), w[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 500 == 0 or step == args.steps - 1:
            msg = "  step %5d  loss %.4f  lr %.2e  %.1fs" % (step, loss.item(), lr_at(step), time.time() - t1)
            if step % 2000 == 0 or step == args.steps - 1:
                model.eval()
                msg += "  val %.4f" % eval_loss(model, val_windows)
                model.train()
            log(msg)
    train_s = time.time() - t1
    model.eval()
    tl, vl = eval_loss(model, train_eval), eval_loss(model, val_windows)
    log("final: train loss %.4f nats/byte (%.3f bits), validation loss %.4f nats/byte (%.3f bits); "
        "training %.1fs" % (tl, tl / math.log(2), vl, vl / math.log(2), train_s))

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config_json(), f, indent=2)
        f.write("\n")
    write_safetensors(os.path.join(args.out, "model.safetensors"), model.state_dict())
    with open(os.path.join(args.out, "calibration.txt"), "wb") as f:
        f.write(calib)
    with open(os.path.join(args.out, "heldout.txt"), "wb") as f:
        f.write(held)
    for fn in ("config.json", "model.safetensors", "calibration.txt", "heldout.txt"):
        log("wrote %s (%d bytes)" % (os.path.join(args.out, fn), os.path.getsize(os.path.join(args.out, fn))))
    log("heldout.txt loss %.4f nats/byte" % eval_loss(model, torch.tensor([list(held[:W])])))

    sample = greedy(model, PROMPT.encode(), 200)
    log("greedy sample (PyTorch, %r + 200 bytes):\n%s" % (PROMPT, sample.decode("latin-1")))
    ok = check_dir(args.out, trained=model)
    log("total %.1fs: %s" % (time.time() - t0, "OK" if ok else "CHECK FAILED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
