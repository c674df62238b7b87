#!/usr/bin/env python3
"""Writes the hand-made device fixtures h100-sxm-cc-off.json and h100-sxm-cc-on.json.

Run from the repository root: python3 testdata/gpu/gen_fixtures.py

Values model an H100 80GB HBM3 (SXM5) from NVIDIA's published specifications and nvidia-smi
output of such boards; the serial, UUID and bus id are made up. The CC-on fixture carries NVIDIA's
public hopper-2025 attestation sample (testdata/nvidia/hopper-2025, see PROVENANCE.md) and its
driver and VBIOS versions, so its report verifies with that sample's nonce. Both are synthetic
until a recording from a real device (prover/gpu.RecordFixture) replaces them.
"""
import json

OK = "SUCCESS"
NS = "ERROR_NOT_SUPPORTED"


def c(v, ret=OK):
    return {"ret": ret, "value": v}


def samples():
    # A 10-step job: idle, ramp, steady at the power cap, tail.
    util = [0, 35, 88, 100, 100, 97, 100, 99, 60, 3]
    memu = [0, 12, 41, 55, 58, 52, 57, 54, 20, 1]
    used = [582, 9000, 20500, 20600, 20610, 20610, 20640, 20640, 20640, 600]  # MiB
    sm = [345, 1755, 1980, 1980, 1830, 1755, 1830, 1980, 1980, 345]
    power = [71234, 420511, 655002, 699870, 700112, 698540, 700004, 688731, 302144, 74500]  # mW
    reasons = [0x1, 0x0, 0x0, 0x4, 0x4, 0x4, 0x4, 0x0, 0x0, 0x1]  # GPU idle, SW power cap
    energy, out = 123456789012, []
    for i in range(10):
        energy += power[i] // 10  # 100 ms at this power, in mJ
        out.append({
            "utilization": c({"Gpu": util[i], "Memory": memu[i]}),
            "memoryUsed": c(used[i] * 1024 * 1024),
            "smClock": c(sm[i]),
            "memClock": c(2619),
            "powerMw": c(power[i]),
            "energyMj": c(energy),
            "clockEventReasons": c(reasons[i]),
        })
    return out


def base(source):
    return {
        "version": "probity.gpu-fixture.v0",
        "source": source,
        "synthetic": True,
        "driverVersion": c("550.90.07"),
        "cudaDriverVersion": c(12040),
        "ccState": c({"Environment": 2, "CcFeature": 0, "DevToolsMode": 0}),
        "ccReady": c(0),
        "uuid": c("GPU-6f0e9c1a-3b8d-4e5f-a2c7-d91b04e8f3a6"),
        "name": c("NVIDIA H100 80GB HBM3"),
        "serial": c("1652923041234"),
        "boardPartNumber": c("692-2G520-0200-000"),
        "pci": c({"busId": "00000000:18:00.0", "deviceId": 0x233010DE, "subsystemId": 0x16C110DE}),
        "architecture": c(9),
        "memoryTotal": c(85520809984),
        "vbiosVersion": c("96.00.9F.00.01"),
        "eccMode": c([1, 1]),
        "migMode": c([0, 0]),
        "persistenceMode": c(1),
        "computeCapability": c([9, 0]),
        "accountingMode": c(1),
        "accounting": {"4242": c({"GpuUtilization": 84, "MemoryUtilization": 43, "MaxMemoryUsage": 20640 * 1024 * 1024,
                                  "Time": 950, "StartTime": 1763800000100000, "IsRunning": 0, "Reserved": [0, 0, 0, 0, 0]})},
        "attestationReport": c("0x", NS),
        "certChain": c("0x", NS),
        "samples": samples(),
    }


off = base("synthetic-from-spec: H100 80GB HBM3 SXM5, CC off; replace with a RecordFixture recording")
with open("testdata/gpu/h100-sxm-cc-off.json", "w") as f:
    json.dump(off, f, indent=1)
    f.write("\n")

on = base("synthetic-from-spec identity and telemetry; CC evidence is NVIDIA's public hopper-2025 sample "
          "(testdata/nvidia/PROVENANCE.md); replace with a RecordFixture recording")
on["ccState"] = c({"Environment": 2, "CcFeature": 1, "DevToolsMode": 0})
on["ccReady"] = c(1)
on["accountingMode"] = c(0)  # accounting is typically off inside CC guests
del on["accounting"]
rep = open("testdata/nvidia/hopper-2025/hopperAttestationReport.txt").read().strip().lower()
chain = open("testdata/nvidia/hopper-2025/hopperCertChain.txt", "rb").read()
on["recordNonce"] = "0x" + rep[8:72]  # request nonce, bytes 4..36
on["attestationReport"] = c("0x" + rep)
on["certChain"] = c("0x" + chain.hex())
with open("testdata/gpu/h100-sxm-cc-on.json", "w") as f:
    json.dump(on, f, indent=1)
    f.write("\n")
