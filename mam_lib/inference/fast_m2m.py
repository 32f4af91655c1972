"""An inference-only form of the M2M decoder: same outputs, prepared once, computed only where needed.

:class:`FastM2M` is built from an eval-mode :class:`~mam_lib.inference.m2m.M2MDecoder` and gives
the same alphas (max abs difference ~1e-6 in float32; tests hold it to 1e-4). What it does
differently, each exact in arithmetic and only changing float rounding:

* **Weights prepared once per load.** The spectral-norm division ``weight_bar / sigma`` (eval
  mode: fixed ``u``, ``v``) and every BatchNorm (running statistics) are folded into the
  convolutions' weights and biases, with torch's own :func:`torch.nn.utils.fusion.fuse_conv_bn_weights`.
  The eager module redoes the division and runs a separate BN pass over each tensor at every forward.
* **channels_last.** Weights and activations use the NHWC memory format, where oneDNN's
  convolutions run about 1.5× faster on a CPU than in NCHW.
* **The shortcut's 1×1 convolution before the nearest ×2 up-sampling** instead of after: the two
  commute exactly, and the convolution then runs on a quarter of the pixels.
* **No padding computed.** SAM pads the resized image to 1024×1024; a 4:3 photo has 768 valid rows.
  Given ``valid=(h, w)`` every stage computes only the rows and columns the valid region of the
  outputs depends on (its receptive field: :func:`stage_margins`), so padding beyond that margin is
  never computed. Outputs are returned cropped to ``(h, w)``; inside it they equal the full
  computation (convolutions near the crop see the same inputs they see uncropped).
* **Windows.** :meth:`FastM2M.forward` also takes a window ``(y0, y1, x0, x1)`` of the output
  and computes only what that window depends on, so the predictor evaluates the decoder only where
  the refined matte can be non-zero (:func:`~mam_lib.inference.refinement.matte_region`: the mask's
  bounding box and the refinement's reach). The image and the mask are resized to each stage at
  full size, as the decoder does, and cropped; the head outputs are up-sampled from a region one
  source pixel wider than needed, with the decoder's own coordinate mapping.
* **The os1 stage in row strips.** The last transposed convolution and the os1 head run on
  :data:`STRIP_ROWS` output rows at a time (plus their margins), so their 32-channel full-size
  tensors (~100 MB each at 1024×768) become ~16 MB ones that the allocator reuses instead of
  fresh pages it must fault in at every forward; same values, about 5% faster, less peak memory.

Training always uses :class:`~mam_lib.inference.m2m.M2MDecoder`; :class:`FastM2M` has no gradients
and must be rebuilt (:meth:`FastM2M.from_decoder`) after the decoder's weights change.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.fusion import fuse_conv_bn_weights

from .m2m import M2MDecoder, ResidualBlock, SpectralNorm

#: The image's sides must be multiples of this (the features are at 1/16).
ALIGN = 16
#: Output rows per strip of the os1 stage (see :meth:`FastM2M.forward`).
STRIP_ROWS = 128


class _FoldedConv(nn.Module):
    """A convolution (or transposed convolution) whose weight already holds SN and BN; no gradients."""

    def __init__(self, conv: nn.Module, bn: nn.BatchNorm2d | None) -> None:
        super().__init__()
        inner = conv.module if isinstance(conv, SpectralNorm) else conv
        self.transposed = isinstance(inner, nn.ConvTranspose2d)
        with torch.no_grad():
            weight = conv.normalised_weight() if isinstance(conv, SpectralNorm) else inner.weight
            weight = weight.detach().clone().float()
            bias = inner.bias.detach().clone().float() if inner.bias is not None else None
            if bn is not None:
                weight, bias = fuse_conv_bn_weights(weight, bias, bn.running_mean.float(), bn.running_var.float(),
                                                    bn.eps, bn.weight.float(), bn.bias.float(),
                                                    transpose=self.transposed)
                weight, bias = weight.detach(), bias.detach()
        self.register_buffer("weight", weight.contiguous(memory_format=torch.channels_last))
        self.register_buffer("bias", bias)
        self.stride, self.padding = inner.stride, inner.padding
        self.output_padding = getattr(inner, "output_padding", (0, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w, b = self.weight, self.bias
        if x.dtype != w.dtype and not torch.is_autocast_enabled(x.device.type):
            w, b = w.to(x.dtype), None if b is None else b.to(x.dtype)
        if self.transposed:
            return F.conv_transpose2d(x, w, b, self.stride, self.padding, self.output_padding)
        return F.conv2d(x, w, b, self.stride, self.padding)


def _leaky(x: torch.Tensor) -> torch.Tensor:
    return F.leaky_relu_(x, 0.2)


def _dense(x: torch.Tensor) -> torch.Tensor:
    """``x`` made channels_last-contiguous: a cropped view keeps NHWC strides but not contiguity, and
    oneDNN then falls back to a slower kernel (measured at 1024×768: the last transposed convolution
    took 171 ms on the cropped view, 37 ms on a copy)."""
    return x.contiguous(memory_format=torch.channels_last)


class _FoldedBlock(nn.Module):
    def __init__(self, block: ResidualBlock) -> None:
        super().__init__()
        self.conv1 = _FoldedConv(block.conv1, block.bn1)
        self.conv2 = _FoldedConv(block.conv2, block.bn2)
        self.shortcut = None
        if block.upsample is not None:
            _, sn, bn = block.upsample
            self.shortcut = _FoldedConv(sn, bn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(_leaky(self.conv1(x)))
        if self.shortcut is not None:
            # the 1×1 convolution commutes with nearest ×2: run it on the small tensor
            identity = F.interpolate(self.shortcut(x), scale_factor=2.0, mode="nearest")
        else:
            identity = x
        return _leaky(out.add_(identity))


class _FoldedHead(nn.Module):
    def __init__(self, head: nn.Sequential) -> None:
        super().__init__()
        conv_a, bn, _, conv_b = head
        self.conv_a = _FoldedConv(conv_a, bn)
        self.conv_b = _FoldedConv(conv_b, None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_b(_leaky(self.conv_a(x)))


@dataclass(frozen=True)
class StageMargins:
    """How many pixels beyond a region each stage's *input* must reach so the region is exact.

    In the stage's own input resolution (``os16`` for the os8 stage, ``os8`` for os4, ``os4`` for
    os2, ``os2`` for the final ×2 convolution, ``os1`` for the os1 head; ``head8``/``head4`` at os8/os4).
    """

    layer2: int
    layer3: int
    layer4: int
    conv1: int
    head1: int
    head4: int
    head8: int


def stage_margins(decoder: M2MDecoder) -> StageMargins:
    """The receptive-field margins of ``decoder``'s stages, from its kernel size and block counts.

    A stage whose output pixels depend on inputs ``r`` pixels away (each 3×3 conv adds 1, each 4×4
    stride-2 transposed conv 1 at its input) needs that many input pixels beyond the region; one
    more is added for the bilinear resampling of the heads. The counts are conservative; the tests
    check that windows computed with them equal the full forward.
    """
    k = decoder.config.kernel_size // 2

    def stage(blocks: int) -> int:
        convs_at_output = 1 + 2 * (blocks - 1)  # conv2 of the first block, two per further block
        return math.ceil(convs_at_output * k / 2) + 1 + 1  # + the transposed conv, + rounding

    b8, b4, b2 = decoder.config.stage_blocks
    return StageMargins(layer2=stage(b8), layer3=stage(b4), layer4=stage(b2), conv1=2, head1=2 * k + 1,
                        head4=2 * k + 1, head8=2 * k + 1)


@dataclass(frozen=True)
class Region:
    """Rows ``r0:r1`` and columns ``c0:c1`` of a tensor at some resolution."""

    r0: int
    r1: int
    c0: int
    c1: int

    def coarser(self, stride: int, margin: int, limit: tuple[int, int]) -> "Region":
        """The region at ``1/stride`` of this resolution covering this one plus ``margin`` pixels there."""
        return Region(max(0, self.r0 // stride - margin), min(limit[0], -(-self.r1 // stride) + margin),
                      max(0, self.c0 // stride - margin), min(limit[1], -(-self.c1 // stride) + margin))

    def finer(self, factor: int) -> "Region":
        return Region(self.r0 * factor, self.r1 * factor, self.c0 * factor, self.c1 * factor)

    def union(self, other: "Region") -> "Region":
        return Region(min(self.r0, other.r0), max(self.r1, other.r1), min(self.c0, other.c0), max(self.c1, other.c1))

    def take(self, t: torch.Tensor, inside: "Region") -> torch.Tensor:
        """Crop ``t``, which covers ``inside``, to this region."""
        return t[..., self.r0 - inside.r0:self.r1 - inside.r0, self.c0 - inside.c0:self.c1 - inside.c0]


class FastM2M(nn.Module):
    """Eval-only M2M with folded weights, channels_last activations and windowed evaluation.

    Build with :meth:`from_decoder`. ``forward(features, image, mask, valid=None, window=None,
    outputs=("alpha_os8", "alpha_os4", "alpha_os1"))``:

    * ``features (B,256,H/16,W/16)``, ``image (B,3,H,W)``, ``mask (B,1,h,w)`` as for
      :class:`~mam_lib.inference.m2m.M2MDecoder`; ``H`` and ``W`` multiples of 16.
    * ``valid``: ``(h, w)`` — the outputs beyond it are not needed (SAM's padding); default all.
    * ``window``: ``(y0, y1, x0, x1)`` in output pixels, inside ``valid``; default the whole of it.
    * ``outputs``: which alphas to compute. Asking for ``alpha_os8`` only skips the os4 and os1
      stages; ``alpha_os4`` skips the os1 stage.

    Returns ``{key: (B,1,y1-y0,x1-x0) float32 in [0,1]}``: the same values as the decoder's
    full-size outputs ``out[key][..., y0:y1, x0:x1]``.
    """

    def __init__(self, decoder: M2MDecoder) -> None:
        super().__init__()
        d = decoder
        self.margins = stage_margins(d)
        self.layer2 = nn.Sequential(*[_FoldedBlock(b) for b in d.layer2])
        self.layer3 = nn.Sequential(*[_FoldedBlock(b) for b in d.layer3])
        self.layer4 = nn.Sequential(*[_FoldedBlock(b) for b in d.layer4])
        self.conv1 = _FoldedConv(d.conv1, d.bn1)
        self.head1 = _FoldedHead(d.refine_OS1)
        self.head4 = _FoldedHead(d.refine_OS4)
        self.head8 = _FoldedHead(d.refine_OS8)
        self.requires_grad_(False)
        self.eval()

    @classmethod
    @torch.no_grad()
    def from_decoder(cls, decoder: M2MDecoder) -> "FastM2M":
        """Fold ``decoder``'s current eval-mode weights (the decoder itself is left unchanged)."""
        was_training = decoder.training
        decoder.eval()
        try:
            fast = cls(decoder)
        finally:
            decoder.train(was_training)
        return fast.to(next(decoder.parameters()).device)

    @staticmethod
    def _alpha(logits: torch.Tensor, scale: int, have: Region, want: Region) -> torch.Tensor:
        """Up-sample head logits covering ``have`` (head resolution) by ``scale``, squash, crop to ``want``.

        ``interpolate(..., scale_factor=scale)`` uses the source coordinate ``(i + 0.5) / scale - 0.5``
        exactly as the full-size up-sampling does (``scale`` is a power of two), so output pixels at
        least one source pixel inside ``have`` (or at the image's own border, where both clamp) equal it.
        """
        if scale > 1:
            logits = F.interpolate(logits.float(), scale_factor=float(scale), mode="bilinear", align_corners=False)
        logits = want.take(logits.float(), have.finer(scale))
        return ((torch.tanh(logits) + 1.0) / 2.0).contiguous()

    @torch.no_grad()
    def forward(self, features: torch.Tensor, image: torch.Tensor, mask: torch.Tensor,
                valid: tuple[int, int] | None = None, window: tuple[int, int, int, int] | None = None,
                outputs: tuple[str, ...] = ("alpha_os8", "alpha_os4", "alpha_os1")) -> dict[str, torch.Tensor]:
        if features.dim() != 4 or image.dim() != 4 or mask.dim() != 4:
            raise ValueError("FastM2M expects 4-D tensors: features (B,256,H/16,W/16), image (B,3,H,W), mask (B,1,h,w)")
        H, W = image.shape[-2:]
        if H % ALIGN or W % ALIGN or tuple(features.shape[-2:]) != (H // 16, W // 16):
            raise ValueError(f"FastM2M needs an image whose sides are multiples of {ALIGN} and features at 1/16 "
                             f"of it; got image {tuple(image.shape[-2:])}, features {tuple(features.shape[-2:])}")
        h, w = valid if valid is not None else (H, W)
        y0, y1, x0, x1 = window if window is not None else (0, h, 0, w)
        if not (0 <= y0 < y1 <= h <= H and 0 <= x0 < x1 <= w <= W):
            raise ValueError(f"window {window} must lie inside the valid region (0, {h}, 0, {w})")
        m = self.margins
        want = Region(y0, y1, x0, x1)
        need4 = "alpha_os4" in outputs or "alpha_os1" in outputs
        need1 = "alpha_os1" in outputs
        image = image.to(features.dtype)
        mask = mask.to(features.dtype)
        guides = _StageGuides(image, mask)

        # Input regions, from the finest stage back to the coarsest: each covers what its stage's
        # output region needs plus the stage's receptive-field margin (clipped to the tensors).
        size = lambda s: (H // s, W // s)  # noqa: E731
        head1_in = want.coarser(1, m.head1, size(1))  # os1
        conv1_in = head1_in.coarser(2, m.conv1, size(2))  # os2
        layer4_in = conv1_in.coarser(2, m.layer4, size(4))  # os4
        head4_in = want.coarser(4, m.head4, size(4))
        os4_out = layer4_in.union(head4_in) if need1 and "alpha_os4" in outputs else (layer4_in if need1 else head4_in)
        layer3_in = os4_out.coarser(2, m.layer3, size(8))  # os8
        head8_in = want.coarser(8, m.head8, size(8))
        os8_out = layer3_in.union(head8_in) if need4 else head8_in
        if need4 and "alpha_os8" not in outputs:
            os8_out = layer3_in
        layer2_in = os8_out.coarser(2, m.layer2, size(16))  # os16

        result: dict[str, torch.Tensor] = {}
        x = layer2_in.take(features, Region(0, H // 16, 0, W // 16))
        x = self.layer2(guides.append(x.contiguous(memory_format=torch.channels_last), layer2_in, 16))
        have = layer2_in.finer(2)  # os8
        if "alpha_os8" in outputs:
            result["alpha_os8"] = self._alpha(self.head8(head8_in.take(x, have)), 8, head8_in, want)
        if not need4:
            return result
        x = self.layer3(guides.append(layer3_in.take(x, have), layer3_in, 8))
        have = layer3_in.finer(2)  # os4
        if "alpha_os4" in outputs:
            result["alpha_os4"] = self._alpha(self.head4(head4_in.take(x, have)), 4, head4_in, want)
        if not need1:
            return result
        x = self.layer4(guides.append(layer4_in.take(x, have), layer4_in, 4))
        have = layer4_in.finer(2)  # os2
        strips = []
        for r0 in range(want.r0, want.r1, STRIP_ROWS):
            part = Region(r0, min(r0 + STRIP_ROWS, want.r1), want.c0, want.c1)
            part_head1 = part.coarser(1, m.head1, size(1))
            part_conv1 = part_head1.coarser(2, m.conv1, size(2))
            y = _leaky(self.conv1(_dense(part_conv1.take(x, have))))
            y = self.head1(_dense(part_head1.take(y, part_conv1.finer(2))))
            strips.append(self._alpha(y, 1, part_head1, part))
        result["alpha_os1"] = torch.cat(strips, -2)
        return result


class _StageGuides:
    """The image and the mask resized to each stage's input size, as the decoder resizes them.

    Resized at the stage's full size and cropped afterwards, so the values are the decoder's by
    construction; the resize of the 1024² image reads each pixel once and the mask is 256², so this
    costs a few milliseconds. Computed once per stride and forward.
    """

    def __init__(self, image: torch.Tensor, mask: torch.Tensor) -> None:
        self.image, self.mask = image, mask
        self._cache: dict[int, torch.Tensor] = {}

    def full(self, stride: int, dtype: torch.dtype) -> torch.Tensor:
        if stride not in self._cache:
            H, W = self.image.shape[-2:]
            size = (H // stride, W // stride)
            img = F.interpolate(self.image, size, mode="bilinear", align_corners=False)
            msk = F.interpolate(self.mask, size, mode="bilinear", align_corners=False)
            self._cache[stride] = torch.cat((img, msk), 1).to(dtype)
        return self._cache[stride]

    def append(self, x: torch.Tensor, region: Region, stride: int) -> torch.Tensor:
        """``x`` (covering ``region`` at ``stride``) with the 4 guide channels of that region appended."""
        H, W = self.image.shape[-2:]
        guide = region.take(self.full(stride, x.dtype), Region(0, H // stride, 0, W // stride))
        if guide.shape[0] != x.shape[0]:
            guide = guide.expand(x.shape[0], -1, -1, -1)
        return torch.cat((x, guide), 1).contiguous(memory_format=torch.channels_last)
