"""The machine a benchmark ran on: CPU model, L2 size, and the CPU and x86-64 ISA level numba compiles for.

Speed ratios move between machines; every benchmark prints this beside its numbers.
"""

from __future__ import annotations

import llvmlite.binding as llvm
import numba

# x86-64 micro-architecture levels (psABI): the LLVM features each level adds to the one below
X86_64_LEVELS = {
    "x86-64-v2": {"cx16", "popcnt", "sahf", "sse3", "sse4.1", "sse4.2", "ssse3"},
    "x86-64-v3": {"avx", "avx2", "bmi", "bmi2", "f16c", "fma", "lzcnt", "movbe", "xsave"},
    "x86-64-v4": {"avx512bw", "avx512cd", "avx512dq", "avx512f", "avx512vl"},
}


def isa_level(features: str) -> str:
    """The highest x86-64 level whose features (and those of the levels below) are all in ``features``.

    ``features`` is an LLVM feature string (``+avx2,-avx512f,...``); "" is the baseline.
    """
    enabled = {f[1:] for f in features.split(",") if f.startswith("+")}
    level = "x86-64 (baseline: SSE2)"
    for name, needs in X86_64_LEVELS.items():
        if not needs <= enabled:
            break
        level = name
    return level


def machine_info() -> dict:
    """CPU model, family/model, L2 size, numba's target CPU and ISA level, library versions."""
    cpu = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                cpu.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    try:
        with open("/sys/devices/system/cpu/cpu0/cache/index2/size") as f:
            l2 = f.read().strip()
    except OSError:
        l2 = "?"
    name = numba.config.CPU_NAME or llvm.get_host_cpu_name()
    features = numba.config.CPU_FEATURES
    if features is None:
        features = llvm.get_host_cpu_features().flatten()
    return {"cpu_model": cpu.get("model name", "?"), "cpu_family_model": f"{cpu.get('cpu family', '?')}/"
            f"{cpu.get('model', '?')}", "l2_per_core": l2, "numba_target_cpu": name,
            "numba_isa_level": isa_level(features), "numba": numba.__version__}
