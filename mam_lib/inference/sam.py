"""The frozen Segment Anything stage: building SAM, encoding an image once, prompting it many times.

Everything here is built from the official ``segment-anything`` package (its registry, its
``ImageEncoderViT`` / ``PromptEncoder`` / ``MaskDecoder`` classes, its ``SamPredictor`` and
``ResizeLongestSide``); nothing of it is copied. What MAM adds is one forward: keep SAM's dense
image features and, of the three masks that ``multimask_output=True`` gives, the one with the
highest predicted IoU, binarised at 0.

Variants: ``vit_b``, ``vit_l``, ``vit_h`` (the published SAM models; random weights unless a
checkpoint is given) and ``tiny`` — a 2-block ViT encoder with windowed attention, SAM's real
prompt encoder and mask decoder, all randomly initialised from a seed. ``tiny`` has exactly the
interfaces and output shapes of the real models (features ``(B,256,64,64)``, ``256×256`` mask
logits) so that everything runs offline and fast; its masks carry no meaning.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
import numpy as np
import torch
import torch.nn.functional as F
from segment_anything import SamPredictor, sam_model_registry
from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

from .device import autocast_context, resolve_device
from .resize import RowResizer
from ..errors import CheckpointError, PromptError
from .checkpoints import read_state_dict

#: SAM's pixel normalisation: the ImageNet statistics ×255, RGB order.
PIXEL_MEAN = (123.675, 116.28, 103.53)
PIXEL_STD = (58.395, 57.12, 57.375)
#: Side of SAM's square input; images are resized so their longest side has this length, then padded.
IMAGE_SIZE = 1024
#: Side of the low-resolution mask logits (IMAGE_SIZE / 4).
LOW_RES_SIZE = 256

SAM_VARIANTS = ("vit_b", "vit_l", "vit_h", "tiny")


@dataclass(frozen=True)
class TinySamConfig:
    """Shape of the ``tiny`` image encoder (the prompt encoder and mask decoder are SAM's own)."""

    embed_dim: int = 64  # ViT width (vit_b: 768)
    depth: int = 2  # transformer blocks (vit_b: 12)
    num_heads: int = 2  # attention heads (vit_b: 12)
    # blocks with global attention; the rest attend within 14×14 windows. None by default: over
    # 64×64 tokens global attention took ~80% of the encoder's time (feature caching, tests) and
    # random weights gain nothing from it. (1,) exercises SAM's global-attention path.
    global_attn_indexes: tuple[int, ...] = ()
    seed: int = 0  # random initialisation is reproducible from this seed


def build_tiny_sam(config: TinySamConfig | None = None) -> Sam:
    """Build the ``tiny`` SAM: a small random ViT encoder, SAM's prompt encoder and mask decoder.

    Output shapes equal the real models': features ``(B,256,64,64)`` for a ``(B,3,1024,1024)`` input.
    """
    cfg = config or TinySamConfig()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        sam = Sam(
            image_encoder=ImageEncoderViT(
                img_size=IMAGE_SIZE,
                patch_size=16,
                embed_dim=cfg.embed_dim,
                depth=cfg.depth,
                num_heads=cfg.num_heads,
                mlp_ratio=4,
                out_chans=256,
                qkv_bias=True,
                norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
                use_rel_pos=True,
                window_size=14,
                global_attn_indexes=cfg.global_attn_indexes,
            ),
            prompt_encoder=PromptEncoder(
                embed_dim=256,
                image_embedding_size=(IMAGE_SIZE // 16, IMAGE_SIZE // 16),
                input_image_size=(IMAGE_SIZE, IMAGE_SIZE),
                mask_in_chans=16,
            ),
            mask_decoder=MaskDecoder(
                num_multimask_outputs=3,
                transformer=TwoWayTransformer(depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8),
                transformer_dim=256,
                iou_head_depth=3,
                iou_head_hidden_dim=256,
            ),
            pixel_mean=list(PIXEL_MEAN),
            pixel_std=list(PIXEL_STD),
        )
    return sam.eval()


def _read_state_dict(path: Path) -> dict:
    return read_state_dict(path, "SAM checkpoint")


def load_sam_weights(sam: Sam, checkpoint: str | Path) -> Sam:
    """Load a SAM checkpoint (``sam_vit_*.pth``) into ``sam`` strictly, with a readable error on mismatch."""
    state = _read_state_dict(Path(checkpoint))
    if any(k.startswith("m2m.") or k.startswith("refine_OS") or k.startswith("layer2.") for k in state):
        raise CheckpointError(
            f"{str(checkpoint)!r} looks like an M2M/MAM checkpoint, not a SAM one: pass it as the M2M checkpoint."
        )
    own = sam.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in sorted(set(own) & set(state)) if own[k].shape != state[k].shape]
    if missing or unexpected or shapes:
        hint = ""
        if shapes and any(k.startswith("image_encoder.") for k in (s.split(":")[0] for s in shapes)):
            hint = " The encoder shapes differ: is this checkpoint for another SAM variant (vit_b / vit_l / vit_h)?"
        raise CheckpointError(
            f"SAM checkpoint {str(checkpoint)!r} does not fit this model: {len(missing)} missing keys "
            f"{missing[:5]}, {len(unexpected)} unexpected keys {unexpected[:5]}, {len(shapes)} shape "
            f"differences {shapes[:3]}.{hint}"
        )
    sam.load_state_dict(state, strict=True)
    return sam


def build_sam(variant: str = "vit_b", checkpoint: str | Path | None = None, *, seed: int = 0,
              device: str | torch.device | None = "cpu") -> Sam:
    """Build a frozen SAM in eval mode with gradients off.

    Args:
        variant: ``"vit_b"``, ``"vit_l"``, ``"vit_h"`` (segment-anything's registry) or ``"tiny"``.
        checkpoint: path of an official ``sam_vit_*.pth`` file, or None for random weights
            (seeded by ``seed``; meaningless masks, useful for tests and speed measurements).
        seed: seed of the random initialisation when there is no checkpoint.
        device: where to put the model (None: the best available device).
    """
    if variant not in SAM_VARIANTS:
        raise CheckpointError(f"unknown SAM variant {variant!r}; choose one of {', '.join(SAM_VARIANTS)}")
    if variant == "tiny":
        if checkpoint is not None:
            raise CheckpointError("the 'tiny' SAM is random by design and takes no checkpoint; "
                                  "use vit_b / vit_l / vit_h with a real checkpoint")
        sam = build_tiny_sam(TinySamConfig(seed=seed))
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            sam = sam_model_registry[variant](checkpoint=None)
        if checkpoint is not None:
            load_sam_weights(sam, checkpoint)
    sam.eval()
    sam.requires_grad_(False)
    return sam.to(resolve_device(device))


def sam_variant_of(sam: Sam) -> str:
    """Name the variant of a built SAM from its encoder width (``tiny`` for anything unknown)."""
    width = sam.image_encoder.patch_embed.proj.out_channels
    return {768: "vit_b", 1024: "vit_l", 1280: "vit_h"}.get(width, "tiny")


@dataclass
class SamPrediction:
    """What the SAM stage gives M2M for one prompt.

    Attributes:
        mask_lowres: ``(1,1,256,256)`` float32 in {0,1}, the chosen mask binarised at 0 (M2M's input).
        mask: ``(H,W)`` bool at the original image size (``postprocess_masks`` of the chosen logits > 0).
        logits_lowres: ``(1,256,256)`` float32 logits of the chosen mask; pass them back as ``mask_input``.
        iou: SAM's predicted IoU of the chosen mask.
        index: which of the (three) candidate masks was chosen.
    """

    mask_lowres: torch.Tensor
    mask: np.ndarray
    logits_lowres: torch.Tensor
    iou: float
    index: int


@dataclass
class ImageEncoding:
    """An image encoded once by SAM, reused for any number of prompts.

    Attributes:
        features: ``(1,256,64,64)`` SAM image embedding.
        image: ``(1,3,1024,1024)`` float32, the resized, normalised and zero-padded image (M2M's input).
        input_size: ``(h, w)`` of the resized image inside the padded square.
        original_size: ``(H, W)`` of the image given to ``set_image``.
    """

    features: torch.Tensor
    image: torch.Tensor
    input_size: tuple[int, int]
    original_size: tuple[int, int]


def _as_points(points, labels, n_expected: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    pts = np.asarray(points, dtype=np.float32)
    if pts.ndim == 1 and pts.size == 2:
        pts = pts[None]
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) == 0:
        raise PromptError(f"points must be a list of (x, y) pairs, got an array of shape {pts.shape}")
    if labels is None:
        lab = np.ones(len(pts), dtype=np.int64)
    else:
        raw = np.asarray(labels).reshape(-1)
        if raw.size and not np.isin(raw, (0, 1)).all():
            raise PromptError(f"point labels must be 1 (foreground) or 0 (background), got {sorted(set(raw.tolist()))}")
        lab = raw.astype(np.int64)
    if len(lab) != len(pts):
        raise PromptError(f"{len(pts)} points but {len(lab)} labels; give one label (1 = foreground, 0 = background) per point")
    return pts, lab


def check_box(box, size: tuple[int, int]) -> np.ndarray:
    """Validate a box prompt ``x0, y0, x1, y1`` (pixels) against an image of ``size = (H, W)``.

    Returns the box as ``(4,)`` float32. Raises :class:`PromptError` for a malformed box, an empty one
    (zero width or height) or one that lies entirely outside the image; a box that sticks out is clipped.
    """
    b = np.asarray(box, dtype=np.float32).reshape(-1)
    if b.size != 4 or not np.isfinite(b).all():
        raise PromptError(f"a box is four numbers x0, y0, x1, y1, got {np.asarray(box).tolist()!r}")
    h, w = size
    x0, y0, x1, y1 = b
    if x1 <= x0 or y1 <= y0:
        raise PromptError(f"empty box {b.tolist()}: it needs x1 > x0 and y1 > y0 (pixel corners, top-left then bottom-right)")
    if x1 <= 0 or y1 <= 0 or x0 >= w or y0 >= h:
        raise PromptError(f"box {b.tolist()} lies outside the {w}×{h} image")
    return np.array([max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)], dtype=np.float32)


def check_points(points, labels, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Validate point prompts against an image of ``size = (H, W)``; returns ``(N,2)`` float32 and ``(N,)`` int64."""
    pts, lab = _as_points(points, labels)
    h, w = size
    outside = (pts[:, 0] < 0) | (pts[:, 0] >= w) | (pts[:, 1] < 0) | (pts[:, 1] >= h) | ~np.isfinite(pts).all(1)
    if outside.any():
        raise PromptError(f"point(s) {pts[outside].tolist()} lie outside the {w}×{h} image")
    return pts, lab


class SamMaskPredictor:
    """Encode an image once with SAM, then turn any number of prompts into MAM's mask.

    A thin layer over segment-anything's ``SamPredictor`` (which does the resizing, normalising,
    padding and encoding): it keeps the normalised padded image for M2M and chooses, of the
    multimask outputs, the mask with the highest predicted IoU.
    """

    def __init__(self, sam_model: Sam, precision: str | None = None) -> None:
        self.sam = sam_model
        self.sam.eval()
        self.predictor = SamPredictor(sam_model)
        self.precision = precision
        self.encoding: ImageEncoding | None = None

    @property
    def device(self) -> torch.device:
        return self.sam.device

    @torch.no_grad()
    def set_image(self, image: np.ndarray) -> ImageEncoding:
        """Encode ``image``: ``(H,W,3)`` uint8 RGB. This is the expensive step (the ViT encoder)."""
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise PromptError(f"set_image expects an (H, W, 3) uint8 RGB array, got {image.dtype} {image.shape}")
        resized = self.predictor.transform.apply_image(image)
        tensor = torch.as_tensor(resized, device=self.device).permute(2, 0, 1).contiguous()[None]
        with autocast_context(self.device, self.precision):
            self.predictor.set_torch_image(tensor, image.shape[:2])
        self.predictor.features = self.predictor.features.float()
        normalised = self.sam.preprocess(tensor.float())
        self.encoding = ImageEncoding(
            features=self.predictor.features,
            image=normalised,
            input_size=tuple(self.predictor.input_size),
            original_size=tuple(image.shape[:2]),
        )
        return self.encoding

    def _require_image(self) -> ImageEncoding:
        if self.encoding is None:
            raise PromptError("no image is set: call set_image(image) before predicting")
        return self.encoding

    @torch.no_grad()
    def predict(self, box=None, points=None, labels=None, mask_input=None,
                multimask_output: bool = True) -> SamPrediction:
        """Run the prompt encoder and mask decoder for one prompt on the encoded image.

        Args:
            box: ``x0, y0, x1, y1`` in original-image pixels, or None.
            points: ``(N,2)`` pixel coordinates ``(x, y)``, or None.
            labels: ``(N,)`` 1 = foreground, 0 = background (default: all 1).
            mask_input: previous ``logits_lowres`` ``(1,256,256)`` as a mask prompt, or None.
            multimask_output: as in SAM; with True the highest-IoU mask of the three is kept.
        """
        enc = self._require_image()
        if box is None and points is None and mask_input is None:
            raise PromptError("give a prompt: a box, one or more points, or both")
        coords_t = labels_t = box_t = mask_t = None
        if points is not None:
            pts, lab = check_points(points, labels, enc.original_size)
            pts = self.predictor.transform.apply_coords(pts, enc.original_size)
            coords_t = torch.as_tensor(pts, dtype=torch.float, device=self.device)[None]
            labels_t = torch.as_tensor(lab, dtype=torch.int, device=self.device)[None]
        if box is not None:
            b = check_box(box, enc.original_size)
            b = self.predictor.transform.apply_boxes(b[None], enc.original_size)
            box_t = torch.as_tensor(b, dtype=torch.float, device=self.device)
        if mask_input is not None:
            m = torch.as_tensor(np.asarray(mask_input) if not torch.is_tensor(mask_input) else mask_input,
                                dtype=torch.float, device=self.device)
            if m.shape[-2:] != (LOW_RES_SIZE, LOW_RES_SIZE):
                raise PromptError(f"mask_input must be {LOW_RES_SIZE}×{LOW_RES_SIZE} low-res logits, got {tuple(m.shape)}")
            mask_t = m.reshape(1, 1, LOW_RES_SIZE, LOW_RES_SIZE)
        with autocast_context(self.device, self.precision):
            # segment-anything's predict_torch without its last step, which up-samples all three
            # candidates to the photo's size (1.3 GB at 12000×9000): only the chosen one is needed.
            sparse, dense = self.sam.prompt_encoder(
                points=(coords_t, labels_t) if coords_t is not None else None, boxes=box_t, masks=mask_t)
            low_res, iou = self.sam.mask_decoder(
                image_embeddings=self.predictor.features, image_pe=self.sam.prompt_encoder.get_dense_pe(),
                sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense, multimask_output=multimask_output)
        idx = int(iou[0].argmax())
        logits = low_res[0, idx:idx + 1].float()
        return SamPrediction(
            mask_lowres=(logits > self.sam.mask_threshold).float()[None],
            mask=self.full_size_mask(logits),
            logits_lowres=logits,
            iou=float(iou[0, idx]),
            index=idx,
        )

    def full_size_mask(self, logits: torch.Tensor, rows_per_band: int = 1024) -> np.ndarray:
        """``(H,W)`` bool: SAM's ``postprocess_masks`` of ``(1,256,256)`` logits, thresholded.

        The same pixels as segment-anything's (up-sample to 1024², crop the padding, resize to the
        photo), with the last resize done a band of rows at a time
        (:class:`~mam_lib.inference.resize.RowResizer`), so no full-size float map is made.
        """
        enc = self._require_image()
        h, w = enc.input_size
        up = F.interpolate(logits.reshape(1, 1, *logits.shape[-2:]).float(), (IMAGE_SIZE, IMAGE_SIZE),
                           mode="bilinear", align_corners=False)[..., :h, :w]
        H, W = enc.original_size
        resizer = RowResizer(up, (H, W))
        out = np.empty((H, W), dtype=bool)
        for r0 in range(0, H, rows_per_band):
            r1 = min(H, r0 + rows_per_band)
            out[r0:r1] = (resizer.rows(r0, r1) > self.sam.mask_threshold).cpu().numpy()
        return out


def normalise_and_pad(images: torch.Tensor) -> torch.Tensor:
    """Normalise ``(B,3,h,w)`` float RGB in [0,255] with SAM's statistics and zero-pad to 1024×1024."""
    mean = torch.tensor(PIXEL_MEAN, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    std = torch.tensor(PIXEL_STD, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    return pad_to_sam(((images - mean) / std))


def pad_to_sam(images: torch.Tensor) -> torch.Tensor:
    """Zero-pad ``(B,C,h,w)`` (h, w ≤ 1024) at the bottom and right to 1024×1024."""
    h, w = images.shape[-2:]
    if h > IMAGE_SIZE or w > IMAGE_SIZE:
        raise PromptError(f"images for SAM must be at most {IMAGE_SIZE}×{IMAGE_SIZE}, got {w}×{h}; resize them first")
    return F.pad(images, (0, IMAGE_SIZE - w, 0, IMAGE_SIZE - h))


def _window_only_size(encoder: ImageEncoderViT) -> int | None:
    """The window size when every block of ``encoder`` attends within windows of one size, else None."""
    sizes = {int(getattr(blk, "window_size", 0)) for blk in encoder.blocks}
    return sizes.pop() if len(sizes) == 1 and min(sizes | {1}) > 0 else None


@torch.no_grad()
def crop_features(sam: Sam, images: torch.Tensor) -> torch.Tensor:
    """SAM's image features of the crops themselves: ``(B,256,h/16,w/16)`` for ``(B,3,h,w)``
    SAM-normalised images that SAM zero-pads to 1024×1024 (``h, w`` multiples of 16).

    The features equal ``sam.image_encoder(pad_to_sam(images))[..., :h/16, :w/16]``. When every
    encoder block attends within windows (the ``tiny`` SAM), a crop's tokens never meet those of
    windows that hold only padding, and the neck's 3×3 convolution reaches one token further: so
    only the windows covering the crop and that one-token halo are computed, on the same grid
    (the same windows, the same slice of the position embedding). For a 128² crop that is one
    14×14 window instead of 64×64 tokens, about 20× less work. Encoders with global attention (the
    published ViT-B/L/H) run on the whole padded image.
    """
    h, w = images.shape[-2:]
    if h % 16 or w % 16:
        raise PromptError(f"crop sizes must be multiples of 16 for SAM's 16-pixel patches, got {w}×{h}")
    encoder = sam.image_encoder
    window = _window_only_size(encoder)
    patch = int(encoder.patch_embed.proj.kernel_size[0])  # 16
    grid = IMAGE_SIZE // patch
    rows = -(-(h // patch + 1) // window) * window if window else grid  # windows covering crop + halo
    cols = -(-(w // patch + 1) // window) * window if window else grid
    if window is None or rows >= grid or cols >= grid or encoder.pos_embed is None:
        return encoder(pad_to_sam(images))[..., : h // patch, : w // patch]
    x = encoder.patch_embed(F.pad(images, (0, cols * patch - w, 0, rows * patch - h)))
    x = x + encoder.pos_embed[:, :rows, :cols]
    for blk in encoder.blocks:
        x = blk(x)
    return encoder.neck(x.permute(0, 3, 1, 2))[..., : h // patch, : w // patch]


@torch.no_grad()
def sam_features_and_masks(sam: Sam, images: torch.Tensor, boxes: torch.Tensor, *,
                           multimask_output: bool = True, precision: str | None = None,
                           crop: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched SAM stage for training: B images, one box each → features and best masks.

    Args:
        sam: a frozen SAM (put in eval mode here).
        images: ``(B,3,h,w)`` float32, already SAM-normalised, ``h, w ≤ 1024`` and multiples of 16
            (training crops are not resized: they are zero-padded to 1024, as SAM pads every image).
        boxes: ``(B,4)`` float ``x0, y0, x1, y1`` in the pixel frame of ``images``.
        multimask_output: keep the best-IoU mask of three (the published recipe) or SAM's single mask.
        precision: None, or ``"bf16"`` / ``"fp16"`` autocast on CUDA, ``"bf16"`` on the CPU.
        crop: return features ``(B,256,h/16,w/16)`` and masks ``(B,1,h/4,w/4)`` covering the crop
            only (True), or the full padded ``(B,256,64,64)`` / ``(B,1,256,256)`` (False).

    Returns:
        ``features`` float32 and ``masks`` float32 in {0,1}; no gradients.
    """
    sam.eval()
    b, _, h, w = images.shape
    if boxes.shape != (b, 4):
        raise PromptError(f"expected one box per image, boxes of shape ({b}, 4), got {tuple(boxes.shape)}")
    if crop and (h % 16 or w % 16):
        raise PromptError(f"crop sizes must be multiples of 16 for SAM's 16-pixel patches, got {w}×{h}")
    padded = pad_to_sam(images)
    with autocast_context(padded.device, precision):
        features = sam.image_encoder(padded)
        masks = []
        dense_pe = sam.prompt_encoder.get_dense_pe()
        for i in range(b):
            sparse, dense = sam.prompt_encoder(points=None, boxes=boxes[i:i + 1].to(padded.dtype), masks=None)
            low_res, iou = sam.mask_decoder(
                image_embeddings=features[i:i + 1], image_pe=dense_pe,
                sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                multimask_output=multimask_output)
            masks.append(low_res[:, int(iou[0].argmax())])
    features = features.float()
    masks = (torch.stack(masks, 0).float() > sam.mask_threshold).float()
    if crop:
        features = features[..., : h // 16, : w // 16].contiguous()
        masks = masks[..., : h // 4, : w // 4].contiguous()
    return features, masks
