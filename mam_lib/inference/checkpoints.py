"""Reading and writing M2M weights in the published layouts.

Accepted files (all read with ``torch.load(..., weights_only=True)``, so no code in a file runs):

* a bare state dict of the decoder (``conv1.module.weight_bar``, ``layer2.0.bn1.weight``, …);
* ``{'state_dict': …}`` — the layout of the published ``mam_vitb.pth`` / ViT-L / ViT-H files and of
  the checkpoints our trainer writes;
* either of those with every key prefixed ``module.`` (saved from ``DataParallel``/DDP);
* a whole MAM model (keys ``m2m.…`` next to ``seg_model.…``): the ``m2m.`` part is taken.

On a mismatch the error lists the missing and unexpected keys and the shapes that differ. A
file that holds pickled Python objects (a whole model saved with ``torch.save(model)``, or worse)
is refused with "not a plain state dict; refusing to run code from it", never run; weights with
NaN or infinite values are refused (they would give an all-zero matte without any other sign).
:func:`read_state_dict` gives the same checks to SAM checkpoints.
"""
from __future__ import annotations

import os
import pickle
import re
from pathlib import Path
from typing import Any, Mapping

import torch

from ..io.atomic import atomic_path
from ..errors import CheckpointError
from .m2m import M2MDecoder


def _strip_prefix(state: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    if state and all(k.startswith(prefix) for k in state):
        return {k[len(prefix):]: v for k, v in state.items()}
    return dict(state)


#: How a PyTorch checkpoint starts: a zip archive (torch ≥ 1.6) or a pickle (the legacy format).
_MAGIC = (b"PK\x03\x04", b"\x80")


def check_checkpoint_file(path: str | os.PathLike, what: str = "checkpoint") -> Path:
    """Cheap checks of a checkpoint file before it is loaded: it exists, is a file, is not empty
    and starts like a PyTorch checkpoint. Raises :class:`CheckpointError`; returns the path."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise CheckpointError(f"{what} {str(p)!r} is a folder; give the .pth file inside it")
    if not p.is_file():
        raise CheckpointError(
            f"{what} {str(p)!r} does not exist. See the README section 'Weights' for where the "
            "published files come from and where to put them.")
    try:
        with open(p, "rb") as fh:
            head = fh.read(4)
    except OSError as err:
        raise CheckpointError(f"{what} {str(p)!r} cannot be read ({err.strerror or err}); check its permissions") from None
    if not head:
        raise CheckpointError(f"{what} {str(p)!r} is empty (0 bytes): the download or save was interrupted; "
                              "fetch or train it again")
    if not head.startswith(_MAGIC):
        raise CheckpointError(f"{what} {str(p)!r} could not be read: it does not start like a PyTorch checkpoint "
                              "(truncated, corrupted or another kind of file); check the path, or download or save "
                              "it again")
    return p


def _refusal(err: Exception) -> str | None:
    """The reason ``torch.load(weights_only=True)`` refused a file that holds pickled objects, or None."""
    text = str(err)
    if not isinstance(err, pickle.UnpicklingError) or "Weights only load failed" not in text:
        return None
    found = re.search(r"GLOBAL ([\w.]+)", text)
    return f"it refers to {found.group(1)}" if found else "it holds Python objects"


def read_checkpoint(path: str | os.PathLike, what: str = "checkpoint") -> Any:
    """``torch.load`` a file safely (weights only, on the CPU) with readable errors.

    Raises :class:`CheckpointError` for a missing, empty, truncated or foreign file, and for a file
    holding pickled code ("not a plain state dict; refusing to run code from it").
    """
    p = check_checkpoint_file(path, what)
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as err:
        refused = _refusal(err)
        if refused is not None:
            raise CheckpointError(
                f"{what} {str(p)!r} is not a plain state dict; refusing to run code from it ({refused}). A whole "
                "pickled model or arbitrary objects could run code when loaded. If you trust the file, load it "
                "yourself and save only its weights: torch.save(model.state_dict(), 'weights.pth')") from None
        lines = str(err).strip().splitlines()
        first = lines[0][:200] if lines else type(err).__name__
        raise CheckpointError(
            f"{what} {str(p)!r} could not be read ({first}). The file is truncated, corrupted or not a "
            "PyTorch checkpoint; download or save it again."
        ) from None


def check_finite(state: Mapping[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Raise :class:`CheckpointError` when a floating-point tensor of ``state`` holds NaN or ±inf."""
    bad = [k for k, v in state.items()
           if isinstance(v, torch.Tensor) and v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        raise CheckpointError(
            f"{source} holds NaN or infinite values in {len(bad)} tensor(s) ({', '.join(bad[:4])}"
            f"{' …' if len(bad) > 4 else ''}): a model with them gives an empty matte. Use an earlier checkpoint "
            "or download the file again")


def read_state_dict(path: str | os.PathLike, what: str = "checkpoint") -> dict[str, torch.Tensor]:
    """A plain state dict of finite tensors from ``path`` (bare, or under ``'state_dict'``), as SAM
    checkpoints are stored; every check of :func:`read_checkpoint` and :func:`check_finite`."""
    obj = read_checkpoint(path, what)
    if isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{what} {str(path)!r} does not hold a state dict of tensors.")
    state = dict(obj)
    check_finite(state, f"{what} {str(path)!r}")
    return state


def extract_m2m_state_dict(obj: Any, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Return the decoder's state dict from any accepted layout (see the module docstring)."""
    if isinstance(obj, Mapping) and "state_dict" in obj and isinstance(obj["state_dict"], Mapping):
        obj = obj["state_dict"]
    elif isinstance(obj, Mapping) and "model" in obj and isinstance(obj["model"], Mapping):
        obj = obj["model"]
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{source} does not hold a state dict of tensors (nor one under 'state_dict').")
    state = _strip_prefix(obj, "module.")
    if any(k.startswith("m2m.") for k in state):
        state = {k[len("m2m."):]: v for k, v in state.items() if k.startswith("m2m.")}
    elif any(k.startswith("image_encoder.") for k in state):
        raise CheckpointError(
            f"{source} is a SAM checkpoint (keys 'image_encoder.…'), not M2M weights: pass it as the SAM checkpoint.")
    return state


def describe_mismatch(model_state: Mapping[str, torch.Tensor], state: Mapping[str, torch.Tensor]) -> str | None:
    """Return a readable description of how ``state`` differs from ``model_state``, or None if it fits."""
    missing = sorted(set(model_state) - set(state))
    unexpected = sorted(set(state) - set(model_state))
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(model_state[k].shape)}"
              for k in sorted(set(model_state) & set(state)) if state[k].shape != model_state[k].shape]
    if not (missing or unexpected or shapes):
        return None
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing key(s): {', '.join(missing[:6])}{' …' if len(missing) > 6 else ''}")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected key(s): {', '.join(unexpected[:6])}{' …' if len(unexpected) > 6 else ''}")
    if shapes:
        parts.append(f"{len(shapes)} shape difference(s): {'; '.join(shapes[:4])}{' …' if len(shapes) > 4 else ''}")
    return "; ".join(parts)


def load_m2m_weights(model: M2MDecoder, checkpoint: str | os.PathLike | Mapping, strict: bool = True) -> M2MDecoder:
    """Load M2M weights (a path or an already loaded object) into ``model``; returns ``model``.

    With ``strict=True`` any missing/unexpected key or shape difference raises
    :class:`~mam_lib.errors.CheckpointError` naming them.
    """
    source = f"checkpoint {str(checkpoint)!r}" if not isinstance(checkpoint, Mapping) else "the given state dict"
    obj = checkpoint if isinstance(checkpoint, Mapping) else read_checkpoint(checkpoint)
    state = extract_m2m_state_dict(obj, source)
    check_finite(state, source)
    problem = describe_mismatch(model.state_dict(), state)
    if problem and strict:
        raise CheckpointError(f"{source} does not fit the M2M decoder: {problem}.")
    if problem:
        own = model.state_dict()
        state = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    model.load_state_dict(state, strict=strict)
    return model


def load_m2m(checkpoint: str | os.PathLike | Mapping | None = None, device: str | torch.device = "cpu") -> M2MDecoder:
    """Build the published :class:`M2MDecoder` in eval mode, with weights from ``checkpoint`` when given."""
    model = M2MDecoder()
    if checkpoint is not None:
        load_m2m_weights(model, checkpoint)
    return model.to(device).eval()


def save_m2m_checkpoint(model: M2MDecoder, path: str | os.PathLike, extra: Mapping[str, Any] | None = None) -> Path:
    """Write ``{'state_dict': model.state_dict(), **extra}`` atomically, in the published key layout.

    The file loads with :func:`load_m2m_weights` here and with the original MAM code's
    ``load_state_dict(..., strict=True)``. ``extra`` values must be tensors or plain Python data
    (so the file stays loadable with ``weights_only=True``).
    """
    payload: dict[str, Any] = {"state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}
    if extra:
        payload.update(extra)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return Path(path)
