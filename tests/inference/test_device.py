"""Device choice and mixed precision: bf16 autocast on the CPU, clear errors for what is not offered."""
from __future__ import annotations

import pytest
import torch

from mam_lib.inference.device import autocast_context, native_bf16_in_cpuinfo, resolve_device
from mam_lib.errors import MamError

CPU = torch.device("cpu")


def test_cpu_bf16_autocast_runs_convolutions_in_bf16():
    conv = torch.nn.Conv2d(3, 4, 3)
    x = torch.randn(1, 3, 8, 8)
    with autocast_context(CPU, "bf16"):
        assert conv(x).dtype == torch.bfloat16
    for off in (None, "fp32"):
        with autocast_context(CPU, off):
            assert conv(x).dtype == torch.float32


def test_unsupported_precisions_name_what_is_offered():
    with pytest.raises(MamError, match="CPU bf16 only"):
        autocast_context(CPU, "fp16")
    with pytest.raises(MamError, match="unknown precision"):
        autocast_context(CPU, "int8")
    with pytest.raises(MamError, match="not offered on mps"):
        autocast_context(torch.device("mps"), "bf16")


def test_native_bf16_is_read_from_the_cpu_flags():
    amx = "processor\t: 0\nflags\t\t: fpu sse avx512f amx_bf16 amx_tile\n"
    avx = "flags\t\t: fpu avx512f avx512_bf16\n"
    plain = "flags\t\t: fpu sse avx2 avx512f\n"
    assert native_bf16_in_cpuinfo(amx) and native_bf16_in_cpuinfo(avx)
    assert not native_bf16_in_cpuinfo(plain) and not native_bf16_in_cpuinfo("")


def test_resolve_device_rejects_missing_accelerators():
    assert resolve_device("cpu") == CPU
    if not torch.cuda.is_available():
        with pytest.raises(MamError, match="CUDA is not available"):
            resolve_device("cuda")


def test_an_unknown_device_name_is_explained():
    import pytest

    from mam_lib.errors import MamError
    from mam_lib.inference.device import resolve_device

    with pytest.raises(MamError, match="unknown device 'banana'"):
        resolve_device("banana")
