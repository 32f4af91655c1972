"""The Mask-to-Matte (M2M) decoder: SAM features + image + coarse mask → alpha at three scales.

``M2MDecoder()`` with no arguments builds the published architecture (MAM's ``sam_decoder_deep``):
three up-sampling residual stages of 3, 3 and 2 blocks (256→128→64→32 channels), each fed the
previous features concatenated with the image and the mask resized to its input size (+4
channels), a final ×2 transposed convolution, and three heads read at output strides 8, 4 and 1.
Its ``state_dict`` has exactly the keys and shapes of the published checkpoints
(``../shared/reference/m2m_state_dict.txt`` in the project's design notes), so ``mam_vitb.pth``
and its ViT-L/H siblings load with ``strict=True`` (see :mod:`mam_lib.inference.checkpoints`).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


def _l2normalize(v: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    return v / (v.norm() + eps)


class SpectralNorm(nn.Module):
    """Spectral normalisation of a wrapped convolution, stored the way the published weights store it.

    The wrapped module keeps ``weight_bar`` (the un-normalised weight, trainable) and two vectors
    ``weight_u`` (length = ``weight.shape[0]``) and ``weight_v`` (the rest of the weight flattened)
    for the power iteration. The weight used is ``weight_bar / sigma`` with
    ``sigma = u · (W v)``; in training mode each forward first does one power-iteration step and
    stores the new ``u`` and ``v``, in eval mode the stored vectors are used as they are.

    PyTorch's own ``torch.nn.utils.spectral_norm`` / ``parametrizations.spectral_norm`` store
    ``weight_orig`` (or ``parametrizations.weight.original``) instead, which would not load the
    published checkpoints unchanged; hence this small module. ``weight_u`` and ``weight_v`` are
    buffers (state, not trainable parameters).
    """

    def __init__(self, module: nn.Module, power_iterations: int = 1) -> None:
        super().__init__()
        self.module = module
        self.power_iterations = power_iterations
        weight = module.weight
        height = weight.shape[0]
        width = weight[0].numel()
        del module._parameters["weight"]
        module.register_parameter("weight_bar", nn.Parameter(weight.detach().clone()))
        module.register_buffer("weight_u", _l2normalize(weight.new_empty(height).normal_(0, 1)))
        module.register_buffer("weight_v", _l2normalize(weight.new_empty(width).normal_(0, 1)))

    def normalised_weight(self) -> torch.Tensor:
        """Return ``weight_bar / sigma``, after one power-iteration step when training."""
        m = self.module
        w = m.weight_bar
        w_mat = w.reshape(w.shape[0], -1)
        if self.training:
            with torch.no_grad():
                u, v = m.weight_u, m.weight_v
                for _ in range(self.power_iterations):
                    v = _l2normalize(torch.mv(w_mat.t(), u))
                    u = _l2normalize(torch.mv(w_mat, v))
                m.weight_u.copy_(u)
                m.weight_v.copy_(v)
        sigma = torch.dot(m.weight_u.to(w.dtype), torch.mv(w_mat, m.weight_v.to(w.dtype)))
        return w / sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.module
        w = self.normalised_weight()
        if isinstance(m, nn.ConvTranspose2d):
            return F.conv_transpose2d(x, w, m.bias, m.stride, m.padding, m.output_padding, m.groups, m.dilation)
        return m._conv_forward(x, w, m.bias)


def _conv(cin: int, cout: int, kernel_size: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size, stride=1, padding=kernel_size // 2, bias=False)


class ResidualBlock(nn.Module):
    """conv-BN-LeakyReLU-conv-BN plus a shortcut, then LeakyReLU(0.2).

    With ``upsample=True`` the first convolution is a 4×4 stride-2 transposed convolution (×2) and
    the shortcut is nearest ×2 followed by a spectral-normalised 1×1 convolution and BN.
    """

    def __init__(self, cin: int, cout: int, upsample: bool, kernel_size: int = 3) -> None:
        super().__init__()
        if upsample:
            first = nn.ConvTranspose2d(cin, cin, kernel_size=4, stride=2, padding=1, bias=False)
        else:
            first = _conv(cin, cin, kernel_size)
        self.conv1 = SpectralNorm(first)
        self.bn1 = nn.BatchNorm2d(cin)
        self.activation = nn.LeakyReLU(0.2, inplace=True)
        self.conv2 = SpectralNorm(_conv(cin, cout, kernel_size))
        self.bn2 = nn.BatchNorm2d(cout)
        self.upsample: nn.Module | None = None
        if upsample:
            self.upsample = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"),
                SpectralNorm(nn.Conv2d(cin, cout, kernel_size=1, bias=False)),
                nn.BatchNorm2d(cout),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.activation(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = self.upsample(x) if self.upsample is not None else x
        return self.activation(out + identity)


def _head(cin: int, kernel_size: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, 32, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(32),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(32, 1, kernel_size, padding=kernel_size // 2),
    )


@dataclass(frozen=True)
class M2MConfig:
    """Architecture of the decoder; the defaults are the published one."""

    in_channels: int = 256  # SAM's feature width
    stage_channels: tuple[int, int, int] = (128, 64, 32)  # output width of the os8, os4 and os2 stages
    stage_blocks: tuple[int, int, int] = (3, 3, 2)  # residual blocks per stage
    kernel_size: int = 3  # 3×3 convolutions (5 in the 'large kernel' variant)
    guide_channels: int = 4  # image (3) + mask (1) concatenated before each stage


class M2MDecoder(nn.Module):
    """Mask-to-Matte decoder.

    ``forward(features, image, mask)``:
        features: ``(B,256,H/16,W/16)`` SAM image embedding.
        image: ``(B,3,H,W)`` the SAM-normalised (mean/std) image.
        mask: ``(B,1,h,w)`` coarse mask in [0,1] at any resolution (SAM's is 256×256 for 1024×1024).

    Returns a dict of ``(B,1,H,W)`` tensors: ``alpha_os8``, ``alpha_os4``, ``alpha_os1`` in [0,1]
    (each head bilinearly up-sampled to H×W and squashed by ``(tanh(x)+1)/2``) and ``mask`` (the mask
    bilinearly up-sampled to H×W).
    """

    def __init__(self, config: M2MConfig | None = None) -> None:
        super().__init__()
        cfg = config or M2MConfig()
        self.config = cfg
        extra = cfg.guide_channels
        c8, c4, c2 = cfg.stage_channels
        b8, b4, b2 = cfg.stage_blocks
        self.layer2 = self._stage(cfg.in_channels + extra, c8, b8, cfg.kernel_size)
        self.layer3 = self._stage(c8 + extra, c4, b4, cfg.kernel_size)
        self.layer4 = self._stage(c4 + extra, c2, b2, cfg.kernel_size)
        self.conv1 = SpectralNorm(nn.ConvTranspose2d(c2, 32, kernel_size=4, stride=2, padding=1, bias=False))
        self.bn1 = nn.BatchNorm2d(32)
        self.leaky_relu = nn.LeakyReLU(0.2, inplace=True)
        self.refine_OS1 = _head(32, cfg.kernel_size)
        self.refine_OS4 = _head(c4, cfg.kernel_size)
        self.refine_OS8 = _head(c8, cfg.kernel_size)
        self.reset_parameters()

    @staticmethod
    def _stage(cin: int, cout: int, blocks: int, kernel_size: int) -> nn.Sequential:
        layers = [ResidualBlock(cin, cout, upsample=True, kernel_size=kernel_size)]
        layers += [ResidualBlock(cout, cout, upsample=False, kernel_size=kernel_size) for _ in range(blocks - 1)]
        return nn.Sequential(*layers)

    def reset_parameters(self) -> None:
        """The published initialisation: Xavier-uniform for (spectral-normalised) 2-D convolutions,
        PyTorch's default for transposed ones, BN weight 1 / bias 0, and the last BN of every
        residual block at 0 so each block starts as its shortcut."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.xavier_uniform_(m.weight_bar if hasattr(m, "weight_bar") else m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for m in self.modules():
            if isinstance(m, ResidualBlock):
                nn.init.zeros_(m.bn2.weight)

    @staticmethod
    def _guide(x: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        img = F.interpolate(image, size, mode="bilinear", align_corners=False)
        msk = F.interpolate(mask, size, mode="bilinear", align_corners=False)
        return torch.cat((x, img.to(x.dtype), msk.to(x.dtype)), dim=1)

    def forward(self, features: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        if features.dim() != 4 or image.dim() != 4 or mask.dim() != 4:
            raise ValueError("M2MDecoder expects 4-D tensors: features (B,256,H/16,W/16), image (B,3,H,W), mask (B,1,h,w)")
        out_size = image.shape[-2:]
        mask = mask.to(features.dtype)
        x = self.layer2(self._guide(features, image, mask))  # os8
        x_os8 = self.refine_OS8(x)
        x = self.layer3(self._guide(x, image, mask))  # os4
        x_os4 = self.refine_OS4(x)
        x = self.layer4(self._guide(x, image, mask))  # os2
        x = self.leaky_relu(self.bn1(self.conv1(x)))  # os1
        x_os1 = self.refine_OS1(x)

        def squash(logits: torch.Tensor) -> torch.Tensor:
            if logits.shape[-2:] != out_size:
                logits = F.interpolate(logits, out_size, mode="bilinear", align_corners=False)
            return (torch.tanh(logits) + 1.0) / 2.0

        return {
            "alpha_os1": squash(x_os1),
            "alpha_os4": squash(x_os4),
            "alpha_os8": squash(x_os8),
            "mask": F.interpolate(mask, out_size, mode="bilinear", align_corners=False),
        }


def m2m_example_inputs(batch: int = 1, height: int = 128, width: int = 128, mask_size: tuple[int, int] | None = None,
                       seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random M2M inputs on the CPU, float32, reproducible from ``seed``.

    Returns ``features (B,256,H/16,W/16)`` and ``image (B,3,H,W)`` standard normal, and
    ``mask (B,1,h,w)`` uniform in [0,1) with ``(h, w) = mask_size`` (default ``(H/4, W/4)``, SAM's
    low-resolution mask). ``height`` and ``width`` must be multiples of 16.
    """
    if height % 16 or width % 16:
        raise ValueError(f"M2M's image sides must be multiples of 16, got {width}×{height}")
    mh, mw = mask_size or (height // 4, width // 4)
    gen = torch.Generator().manual_seed(seed)
    features = torch.randn(batch, 256, height // 16, width // 16, generator=gen)
    image = torch.randn(batch, 3, height, width, generator=gen)
    mask = torch.rand(batch, 1, mh, mw, generator=gen)
    return features, image, mask


def calibrated_random_m2m(seed: int = 0, size: int = 128, batches: int = 2) -> M2MDecoder:
    """A random-weight eval-mode :class:`M2MDecoder` whose activations stay in a trained model's range.

    A freshly initialised decoder in eval mode uses batch-norm statistics of 0 and 1 and zero
    residual branches, so its activations grow to 1e5–1e7 and every alpha saturates at 0 or 1: a poor
    subject for comparing an export with PyTorch or for timing. Here the batch-norm scales and shifts
    are drawn at random and their running statistics are measured on ``batches`` random batches of
    ``(2,3,size,size)`` inputs (:func:`m2m_example_inputs`). The global random state is left untouched.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        m2m = M2MDecoder()
        norms = [m for m in m2m.modules() if isinstance(m, nn.BatchNorm2d)]
        for bn in norms:
            nn.init.uniform_(bn.weight, 0.5, 1.5)
            nn.init.uniform_(bn.bias, -0.2, 0.2)
            bn.reset_running_stats()
            bn.momentum = None  # cumulative average over the calibration batches
        m2m.train()
        with torch.no_grad():
            for i in range(batches):
                m2m(*m2m_example_inputs(2, size, size, seed=seed + 1 + i))
        for bn in norms:
            bn.momentum = 0.1
    return m2m.eval()


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
