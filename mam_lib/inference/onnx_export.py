"""Exporting the M2M decoder and SAM's prompt side to ONNX, and running M2M in onnxruntime.

Two files make MAM's per-prompt path portable (SAM's image encoder is exported by
segment-anything's own script when needed):

- ``m2m.onnx`` (:func:`export_m2m_onnx`): the eval-mode Mask-to-Matte decoder. Inputs
  ``features (B,256,H/16,W/16)``, ``image (B,3,H,W)``, ``mask (B,1,h,w)``, all float32; outputs
  ``alpha_os8``, ``alpha_os4``, ``alpha_os1`` and ``mask_upsampled``, each ``(B,1,H,W)`` float32
  (ONNX value names must be unique, so the up-sampled mask cannot share the input's name;
  :class:`OnnxM2M` returns it under ``"mask"`` as :class:`~mam_lib.inference.m2m.M2MDecoder` does).
  Batch and all spatial sizes are dynamic: one file serves any ``H, W`` that are multiples of 16.
- ``sam_decoder.onnx`` (:func:`export_sam_decoder_onnx`): SAM's prompt encoder, mask decoder and
  mask post-processing through segment-anything's ``SamOnnxModel``, as its
  ``scripts/export_onnx_model.py`` exports them (inputs ``image_embeddings``, ``point_coords``,
  ``point_labels``, ``mask_input``, ``has_mask_input``, ``orig_im_size``; outputs ``masks``,
  ``iou_predictions``, ``low_res_masks``).

Both exports use PyTorch's TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``).
The torch.export-based exporter, the default since PyTorch 2.9, needs the extra ``onnxscript``
package; the TorchScript one needs nothing beyond ``onnx``, is what segment-anything's script
was written for, and traces both models to graphs that match PyTorch within float32 rounding
(``tests/inference/test_onnx_export.py``). The M2M export records the eval-mode computation:
batch norm uses its running statistics, and each spectral-normalised weight, ``weight_bar / sigma``
with the stored power-iteration vectors, is computed once and stored as a plain convolution weight
(the file holds each weight once and runs no power-iteration arithmetic). The trace also fixes M2M's
one Python branch (the os1 head is already at ``H×W`` because ``H = 16 × features' height``), hence
the multiple-of-16 rule.

``onnx`` and ``onnxruntime`` are optional dependencies: ``pip install -e .[onnx]``.
"""
from __future__ import annotations

import contextlib
import copy
import importlib
import os
import warnings
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from segment_anything.modeling import Sam
from segment_anything.utils.onnx import SamOnnxModel

from ..errors import CheckpointError, MamError
from ..io.atomic import atomic_path
from .m2m import M2MDecoder, SpectralNorm, m2m_example_inputs

#: ONNX input names of ``m2m.onnx``, in call order.
M2M_INPUTS = ("features", "image", "mask")
#: ONNX output names of ``m2m.onnx``, in order, and the :meth:`M2MDecoder.forward` key each one is.
M2M_OUTPUTS = {"alpha_os8": "alpha_os8", "alpha_os4": "alpha_os4", "alpha_os1": "alpha_os1",
               "mask_upsampled": "mask"}
#: ONNX input and output names of ``sam_decoder.onnx`` (those of segment-anything's script).
SAM_DECODER_INPUTS = ("image_embeddings", "point_coords", "point_labels", "mask_input", "has_mask_input",
                      "orig_im_size")
SAM_DECODER_OUTPUTS = ("masks", "iou_predictions", "low_res_masks")
#: The default ONNX opset (segment-anything's script uses the same).
DEFAULT_OPSET = 17

_INSTALL_HINT = "pip install -e .[onnx]"


def require_onnx(module: str = "onnx"):
    """Import and return ``onnx`` or ``onnxruntime``; raise :class:`MamError` naming the extra if it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MamError(f"ONNX support needs the optional package {module!r}, which is not installed: "
                       f"{_INSTALL_HINT}") from None


def _check_destination(path: str | os.PathLike, overwrite: bool) -> Path:
    dest = Path(path)
    if dest.is_dir():
        raise MamError(f"{str(dest)!r} is a folder; give the path of the .onnx file to write")
    if dest.exists() and not overwrite:
        raise MamError(f"{str(dest)!r} already exists; pass overwrite=True (`--overwrite` on the command line) "
                       "to replace it")
    return dest


@contextlib.contextmanager
def _quiet_export() -> Iterator[None]:
    """Silence the exporter's deprecation notice and the tracer's warnings about Python-level branches
    (the module docstring says why both are expected here)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", category=UserWarning)
        yield


def _export(model: nn.Module, inputs: tuple[torch.Tensor, ...], path: str | os.PathLike, *, opset: int,
            overwrite: bool, input_names: Sequence[str], output_names: Sequence[str],
            dynamic_axes: dict[str, dict[int, str]], edit: Callable | None = None) -> Path:
    """Trace ``model`` on ``inputs`` into an ONNX file written atomically and checked with ``onnx.checker``.

    ``edit``, if given, receives the exported ``onnx.ModelProto`` and changes it in place before it is saved.
    """
    onnx = require_onnx("onnx")
    dest = _check_destination(path, overwrite)
    with atomic_path(dest) as tmp, _quiet_export():
        torch.onnx.export(model, inputs, str(tmp), dynamo=False, export_params=True, opset_version=opset,
                          do_constant_folding=True, input_names=list(input_names),
                          output_names=list(output_names), dynamic_axes=dynamic_axes)
        if edit is not None:
            proto = onnx.load(str(tmp))
            edit(proto)
            onnx.save(proto, str(tmp))
        onnx.checker.check_model(str(tmp))
    return dest


def _fold_spectral_norms(m2m: M2MDecoder) -> M2MDecoder:
    """Replace, in place, every :class:`SpectralNorm` of an eval-mode decoder by its plain convolution
    holding the weight it computes (``weight_bar / sigma``). The result computes the same function;
    the export then stores each weight once instead of ``weight_bar`` plus the per-call ``sigma`` ops."""
    for parent in list(m2m.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, SpectralNorm):
                conv = child.module
                with torch.no_grad():
                    weight = child.normalised_weight().detach().clone()
                del conv._parameters["weight_bar"]
                for key in ("weight_u", "weight_v"):
                    del conv._buffers[key]
                conv.register_parameter("weight", nn.Parameter(weight, requires_grad=False))
                setattr(parent, name, conv)
    return m2m


def _name_m2m_output_dims(proto) -> None:
    """Declare every output of the exported decoder as ``(batch, 1, height, width)`` (the tracer's
    shape inference names the channel axis after unrelated values)."""
    for output in proto.graph.output:
        dims = output.type.tensor_type.shape.dim
        for dim, label in zip(dims, ("batch", 1, "height", "width")):
            if isinstance(label, int):
                dim.dim_value = label
            else:
                dim.dim_param = label


class _M2MOutputs(nn.Module):
    """The decoder with its dict output as a tuple in the order of :data:`M2M_OUTPUTS`, for tracing."""

    def __init__(self, m2m: M2MDecoder) -> None:
        super().__init__()
        self.m2m = m2m

    def forward(self, features: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.m2m(features, image, mask)
        return tuple(out[key] for key in M2M_OUTPUTS.values())


def export_m2m_onnx(m2m: M2MDecoder, path: str | os.PathLike, opset: int = DEFAULT_OPSET, *,
                    overwrite: bool = False) -> Path:
    """Export the decoder in eval mode to an ONNX file with dynamic batch and spatial axes.

    Args:
        m2m: the decoder; it is copied (to the CPU, float32, eval mode), so the caller's module keeps
            its device, dtype and mode.
        path: the ``.onnx`` file to write; written to a temporary file in the same folder, checked
            with ``onnx.checker`` and moved into place, so a failed export leaves nothing behind.
        opset: ONNX opset version.
        overwrite: replace an existing file; without it an existing file raises :class:`MamError`.

    Inputs and outputs are described in the module docstring (:data:`M2M_INPUTS`,
    :data:`M2M_OUTPUTS`); the file works for any batch size, any ``H, W`` that are multiples of 16
    and any mask size.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    model = _M2MOutputs(_fold_spectral_norms(copy.deepcopy(m2m).to("cpu", torch.float32).eval()))
    # Features at exactly H/16 (the trace fixes the os1 branch on it), a mask at neither H/4 nor H.
    inputs = m2m_example_inputs(1, 128, 128, mask_size=(48, 48))
    axes = {"features": {0: "batch", 2: "feature_height", 3: "feature_width"},
            "image": {0: "batch", 2: "height", 3: "width"},
            "mask": {0: "batch", 2: "mask_height", 3: "mask_width"}}
    axes.update({name: {0: "batch", 2: "height", 3: "width"} for name in M2M_OUTPUTS})
    with torch.no_grad():
        return _export(model, inputs, path, opset=opset, overwrite=overwrite, input_names=M2M_INPUTS,
                       output_names=tuple(M2M_OUTPUTS), dynamic_axes=axes, edit=_name_m2m_output_dims)


class _SamOnnxDecoder(SamOnnxModel):
    """segment-anything's ``SamOnnxModel`` with the padding crop kept as a traced value.

    In the released ``segment-anything==1.0``, ``mask_postprocessing`` crops the padding with
    ``masks[..., : int(h), : int(w)]``; ``int()`` makes the tracer record the crop of the example
    ``orig_im_size`` as a constant, so the exported file only crops images of that aspect ratio
    correctly (segment-anything issue #56, fixed in its repository after the release). This
    override is that fix: the same operations with the crop bounds left as tensors.
    """

    def mask_postprocessing(self, masks: torch.Tensor, orig_im_size: torch.Tensor) -> torch.Tensor:
        masks = F.interpolate(masks, size=(self.img_size, self.img_size), mode="bilinear", align_corners=False)
        prepadded = self.resize_longest_image_size(orig_im_size, self.img_size)
        masks = masks[..., : prepadded[0], : prepadded[1]]
        size = orig_im_size.to(torch.int64)
        return F.interpolate(masks, size=(size[0], size[1]), mode="bilinear", align_corners=False)


def export_sam_decoder_onnx(sam: Sam, path: str | os.PathLike, opset: int = DEFAULT_OPSET, *,
                            return_single_mask: bool = False, gelu_approximate: bool = False,
                            use_stability_score: bool = False, return_extra_metrics: bool = False,
                            overwrite: bool = False) -> Path:
    """Export SAM's prompt encoder + mask decoder as segment-anything's ``scripts/export_onnx_model.py`` does.

    The model is segment-anything's ``SamOnnxModel`` (only its padding crop is traced as a tensor,
    see :class:`_SamOnnxDecoder`), traced on the script's example inputs with ``num_points`` dynamic.
    The keyword options are the script's flags of the same names.

    Inputs (float32): ``image_embeddings (1,256,64,64)``; ``point_coords (1,N,2)`` in the
    1024-pixel frame of ``ResizeLongestSide`` (a box is two points labelled 2 and 3); ``point_labels
    (1,N)`` (1 foreground, 0 background, 2/3 box corners, -1 padding: add a ``(0,0)`` point labelled
    -1 when there is no box); ``mask_input (1,1,256,256)`` logits; ``has_mask_input (1,)`` 0 or 1;
    ``orig_im_size (2,)`` ``(H, W)``. Outputs: ``masks (1,M,H,W)`` logits at the original size,
    ``iou_predictions (1,M)``, ``low_res_masks (1,M,256,256)``, with ``M = 4`` (all mask tokens) or
    ``1`` with ``return_single_mask``.

    Args:
        sam: a segment-anything ``Sam`` (any variant; only its prompt encoder and mask decoder are
            exported). With ``gelu_approximate`` its GELUs are switched to tanh during the export
            and restored afterwards.
        path, opset, overwrite: as in :func:`export_m2m_onnx`.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.
    """
    model = _SamOnnxDecoder(sam, return_single_mask=return_single_mask, use_stability_score=use_stability_score,
                            return_extra_metrics=return_extra_metrics)
    device = next(sam.mask_decoder.parameters()).device
    embed_dim = sam.prompt_encoder.embed_dim
    embed_size = sam.prompt_encoder.image_embedding_size
    gen = torch.Generator().manual_seed(0)
    example = {
        "image_embeddings": torch.randn(1, embed_dim, *embed_size, generator=gen),
        "point_coords": torch.randint(0, 1024, (1, 5, 2), generator=gen).float(),
        "point_labels": torch.randint(0, 4, (1, 5), generator=gen).float(),
        "mask_input": torch.randn(1, 1, *(4 * s for s in embed_size), generator=gen),
        "has_mask_input": torch.tensor([1.0]),
        "orig_im_size": torch.tensor([1500.0, 2250.0]),
    }
    inputs = tuple(t.to(device) for t in example.values())
    output_names = (SAM_DECODER_OUTPUTS if not return_extra_metrics else
                    ("masks", "iou_predictions", "stability_scores", "areas", "low_res_masks"))
    gelus = [m for m in model.modules() if isinstance(m, nn.GELU)] if gelu_approximate else []
    saved = [m.approximate for m in gelus]
    try:
        for m in gelus:
            m.approximate = "tanh"
        model(*inputs)  # as the script does: fail here, with a readable traceback, before tracing
        return _export(model, inputs, path, opset=opset, overwrite=overwrite, input_names=SAM_DECODER_INPUTS,
                       output_names=output_names,
                       dynamic_axes={"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}})
    finally:
        for m, approximate in zip(gelus, saved):
            m.approximate = approximate


def onnx_session(path: str | os.PathLike, *, threads: int | None = None,
                 providers: Sequence[str] | None = None):
    """Open an ``onnxruntime.InferenceSession`` on ``path`` with one-line errors for a missing or bad file.

    Args:
        threads: intra-op threads (None: onnxruntime's default, one per physical core).
        providers: execution providers, default ``["CPUExecutionProvider"]``.
    """
    ort = require_onnx("onnxruntime")
    file = Path(path)
    if not file.is_file():
        raise CheckpointError(f"ONNX model {str(file)!r} does not exist; write it with `mam export-onnx --out DIR`")
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = int(threads)
        options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(file), sess_options=options,
                                    providers=list(providers or ["CPUExecutionProvider"]))
    except Exception as err:  # onnxruntime raises several types for unreadable or invalid models
        first = (str(err).strip().splitlines() or [""])[0][:200]
        raise CheckpointError(f"ONNX model {str(file)!r} could not be loaded ({type(err).__name__}: {first}); "
                              "the file may be truncated or not an ONNX model: export it again") from None


def _as_float32(x: torch.Tensor | np.ndarray) -> np.ndarray:
    if torch.is_tensor(x):
        return x.detach().to("cpu", torch.float32).contiguous().numpy()
    return np.ascontiguousarray(x, dtype=np.float32)


class OnnxM2M:
    """An exported M2M decoder (``m2m.onnx``) run in onnxruntime, called like :class:`M2MDecoder`.

    ``OnnxM2M(path)(features, image, mask)`` takes the tensors ``M2MDecoder.forward`` takes (torch
    tensors of any dtype and device, or NumPy arrays; computed in float32) and returns the same dict
    of ``(B,1,H,W)`` float32 torch tensors (``alpha_os8``, ``alpha_os4``, ``alpha_os1``, ``mask``), on
    the device of ``features``. ``to`` and ``eval`` return the object itself, so it can take the
    torch module's place, e.g. ``MattingPredictor(sam, OnnxM2M("m2m.onnx"), device="cpu")``.

    Args:
        path: a file written by :func:`export_m2m_onnx`.
        threads: onnxruntime intra-op threads (None: its default).
        providers: onnxruntime execution providers (default: the CPU one).

    Raises:
        CheckpointError: the file is missing, unreadable, or not an exported M2M decoder.
        MamError: onnxruntime is not installed.
    """

    def __init__(self, path: str | os.PathLike, *, threads: int | None = None,
                 providers: Sequence[str] | None = None) -> None:
        self.path = Path(path)
        self.session = onnx_session(self.path, threads=threads, providers=providers)
        inputs = tuple(i.name for i in self.session.get_inputs())
        outputs = tuple(o.name for o in self.session.get_outputs())
        if inputs != M2M_INPUTS or set(outputs) != set(M2M_OUTPUTS):
            raise CheckpointError(f"ONNX model {str(self.path)!r} is not an exported M2M decoder: inputs {list(inputs)}, "
                                  f"outputs {list(outputs)} (expected {list(M2M_INPUTS)} → {list(M2M_OUTPUTS)})")
        self._outputs = outputs
        self.training = False

    def __repr__(self) -> str:
        return f"OnnxM2M({str(self.path)!r}, providers={self.session.get_providers()})"

    def to(self, *args, **kwargs) -> "OnnxM2M":
        """Return self: the session stays where it is; outputs follow the inputs' device."""
        return self

    def eval(self) -> "OnnxM2M":
        """Return self (the exported graph is the eval-mode decoder)."""
        return self

    @staticmethod
    def _check(features, image, mask) -> None:
        f, i, m = (tuple(x.shape) for x in (features, image, mask))
        if len(f) != 4 or len(i) != 4 or len(m) != 4:
            raise ValueError("OnnxM2M expects 4-D inputs: features (B,256,H/16,W/16), image (B,3,H,W), mask (B,1,h,w); "
                             f"got {f}, {i}, {m}")
        if f[1] != 256 or i[1] != 3 or m[1] != 1 or not f[0] == i[0] == m[0]:
            raise ValueError(f"OnnxM2M expects features (B,256,…), image (B,3,…), mask (B,1,…); got {f}, {i}, {m}")
        if (i[2], i[3]) != (16 * f[2], 16 * f[3]):
            raise ValueError(f"the image must be 16× the features' size: features {f[2]}×{f[3]} need a "
                             f"{16 * f[2]}×{16 * f[3]} image, got {i[2]}×{i[3]}")

    def __call__(self, features: torch.Tensor, image: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        self._check(features, image, mask)
        feed = {name: _as_float32(x) for name, x in zip(M2M_INPUTS, (features, image, mask))}
        results = self.session.run(list(self._outputs), feed)
        device = features.device if torch.is_tensor(features) else torch.device("cpu")
        return {M2M_OUTPUTS[name]: torch.from_numpy(arr).to(device) for name, arr in zip(self._outputs, results)}

    forward = __call__
