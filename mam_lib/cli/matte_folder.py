"""``mam matte DIR --prompts FILE -o OUT/``: matte every image of a folder (the folder mode of ``mam matte``).

* **Prompts.** ``--prompts FILE`` gives each image's prompts by file name (the format:
  :mod:`mam_lib.cli.batch_prompts`, ``docs/batch.md``; the widget's prompts export is one of the
  forms). ``--box``/``--point``/``--bg-point``/``--text`` give the prompt of every image the file
  does not list (of every image without ``--prompts``). Images with neither are counted as
  "no prompt" and left alone. The images are the files directly inside DIR with an image
  extension (``.png .jpg .jpeg .bmp .tif .tiff .webp``), hidden files excepted.
* **Outputs.** For each object (and each instance a text finds) ``OUT/<stem>_cutout.png`` (RGBA),
  ``OUT/<stem>_alpha.png`` and, with ``--composite``, ``OUT/<stem>_composite.png``. With several
  objects the object's name comes after the stem (``photo_left_cutout.png``); the instances of a
  text are numbered, best score first (``photo_1_cutout.png``, ``photo_2_cutout.png``). OUT must
  not be DIR, lie inside it or contain it; existing files there that the project did not write
  are replaced only with ``--overwrite``.
* **Resumable.** After an image's files are written (each atomically), a record of them goes to
  ``OUT/.mam_matte/<image name>.json``. An image whose record matches its current prompts, the
  settings and the image file (size and modification time), and whose files are all there, is
  skipped; ``--overwrite`` computes every image again. A run that was interrupted continues where
  it stopped.
* **Failures.** An image that cannot be read, a prompt that does not fit its image, a text that
  finds no box: reported on one line, and the other images go on. SAM encodes each image once; all
  its objects reuse the encoding.
* **Summary.** At the end: done, skipped (already done), failed, no prompt, and the time; the same
  in ``OUT/matte_summary.json`` (written atomically). Exit status 0 when no image failed,
  :data:`SOME_FAILED` (3) when some did (the others are written), 2 for a problem found before any
  image was matted (nothing is written then).
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import MamError, OutputError, PromptError

#: The files written for each object, by kind.
KINDS = ("cutout", "alpha", "composite")
#: The folder of OUT holding one record per finished image.
RECORDS_DIR = ".mam_matte"
RECORD_FORMAT = "mam-matte-record"
SUMMARY_NAME = "matte_summary.json"
SUMMARY_FORMAT = "mam-matte-summary"
#: Exit status of a run in which at least one image failed (the others were written).
SOME_FAILED = 3
#: How many failures the printed summary lists (the summary file lists them all).
SHOWN_FAILURES = 20
#: The image files of a folder, by extension.
FOLDER_IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: Options of the single-image mode that a folder does not take, with what to use instead.
SINGLE_ONLY = {"alpha_out": ("--alpha-out", "every image gets OUT/<stem>_alpha.png"),
               "composite_out": ("--composite-out", "pass --composite to write OUT/<stem>_composite.png")}


def list_images(folder: "str | os.PathLike") -> list[Path]:
    """The image files directly inside ``folder`` (by extension, hidden files excepted), sorted by name."""
    p = Path(folder)
    try:
        entries = list(p.iterdir())
    except OSError as err:
        raise MamError(f"cannot list the folder {str(p)!r} ({err.strerror or err}); check its permissions") from None
    return sorted((e for e in entries if e.suffix.lower() in FOLDER_IMAGE_EXTENSIONS and not e.name.startswith(".")
                   and e.is_file()), key=lambda e: e.name)


def file_label(name: str) -> str:
    """An object's name as part of a file name: ``"object 1"`` → ``object_1``, ``"a + b"`` → ``a_and_b``."""
    text = name.strip().replace("+", "and")
    text = re.sub(r"[^0-9A-Za-z._-]+", "_", text).strip("._")
    return text or "object"


def output_name(stem: str, label: str | None, instance: int | None, kind: str) -> str:
    """``<stem>[_<label>][_<instance>]_<kind>.png``."""
    parts = [stem] + ([label] if label else []) + ([str(instance)] if instance is not None else []) + [kind]
    return "_".join(parts) + ".png"


@dataclass
class _Item:
    """One image of the folder and what to do with it."""

    path: Path
    prompts: Any = None  # ImagePrompts, or None: no prompt
    error: str | None = None  # a problem found before matting (a malformed entry, a name clash)
    key: dict | None = None
    known: list[str] = field(default_factory=list)  # output names known before matting (all but text instances)

    @property
    def name(self) -> str:
        return self.path.name


def _check_options(args) -> None:
    for attr, (option, instead) in SINGLE_ONLY.items():
        if getattr(args, attr, None):
            raise MamError(f"{option} names one file; with a folder {instead} (in -o/--out)")


def _default_prompts(args):
    """The prompt of the command line (``--box``/``--point``/``--text``) as an ImagePrompts template, or None."""
    from ..inference.text import caption_of
    from .batch_prompts import image_prompts

    spatial = args.box is not None or bool(args.point) or bool(args.bg_point)
    if args.text is not None and spatial:
        raise MamError("give either --text or --box/--point, not both: the boxes the text names are the prompts")
    if args.text is not None:
        caption_of(args.text)  # not empty
        value: dict = {"text": args.text}
    elif spatial:
        points = (args.point or []) + (args.bg_point or [])
        value = {"box": args.box, "points": points or None,
                 "labels": ([1] * len(args.point or []) + [0] * len(args.bg_point or [])) or None}
    else:
        return None
    try:
        return image_prompts("*", value, source="the command line")
    except PromptError as err:
        raise PromptError(str(err).replace(", image '*'", "")) from None


def _plan(images: list[Path], batch, default) -> tuple[list[_Item], list[tuple[str, str]]]:
    """Each image with its prompts (or its entry's error), and the names the file lists that DIR lacks."""
    items = []
    for path in images:
        item = _Item(path)
        if batch is not None and path.name in batch.errors:
            item.error = batch.errors[path.name]
        elif batch is not None and path.name in batch.images:
            item.prompts = batch.images[path.name]
        elif default is not None:
            item.prompts = replace(default, image=path.name)
        items.append(item)
    names = {p.name for p in images}
    missing = [] if batch is None else [
        (n, f"the prompts file lists {n!r} but the folder has no image of that name (keys are file names, "
            "with their extension)") for n in batch.names if n not in names]
    return items, missing


def _labels(prompts) -> list[str | None]:
    """The file label of each object: none for a single object, else its name."""
    if len(prompts.objects) == 1:
        return [None]
    return [file_label(o.name) for o in prompts.objects]


def _known_outputs(prompts, composite: bool) -> list[str]:
    """The output names of the objects that are not text (a text's instances are known only after detection)."""
    from .batch_prompts import TextObject

    kinds = KINDS if composite else KINDS[:2]
    stem = Path(prompts.image).stem
    return [output_name(stem, label, None, kind) for o, label in zip(prompts.objects, _labels(prompts))
            if not isinstance(o, TextObject) for kind in kinds]


def _check_unique(names: list[str], prompts) -> None:
    """Raise :class:`PromptError` when two objects of an image would write the same file."""
    seen = set()
    for name in names:
        if name in seen:
            objects = ", ".join(repr(o.name) for o in prompts.objects)
            raise PromptError(f"two of its objects ({objects}) would write the same file {name}; give them names "
                              "that differ in letters or digits")
        seen.add(name)


def _settings(args, has_text: bool) -> dict:
    """The settings that decide the mattes (part of each image's record)."""
    from ..io.outputs import real_path

    def path(p):
        return None if p is None else str(real_path(p))

    settings = {"guidance": args.guidance, "estimate_fg": not args.no_fg_estimation, "sam_variant": args.sam_variant,
                "sam_checkpoint": path(args.sam_checkpoint), "m2m_checkpoint": path(args.m2m_checkpoint)}
    if args.backend != "fast":  # absent for the default, so records written before the option still match
        settings["backend"] = args.backend
    if has_text:
        settings["text"] = {"model": args.text_model, "box_threshold": args.box_threshold,
                            "text_threshold": args.text_threshold, "max_instances": args.max_instances}
    return settings


def _key(item: _Item, args) -> dict:
    st = item.path.stat()
    key = {"image": {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns}, "prompts": item.prompts.key(),
           "settings": _settings(args, item.prompts.has_text)}
    return json.loads(json.dumps(key))  # the form it has when read back


def _record_path(out: Path, name: str) -> Path:
    return out / RECORDS_DIR / f"{name}.json"


def is_done(out: Path, name: str, key: dict, background: Any) -> bool:
    """Whether the image ``name`` was matted into ``out`` with this ``key`` (prompts, settings, image
    file) and every file its record lists is there (composites on ``background`` when it is not None)."""
    try:
        record = json.loads(_record_path(out, name).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT or record.get("key") != key:
        return False
    outputs = record.get("outputs")
    if not isinstance(outputs, list) or not outputs or not all(isinstance(o, str) for o in outputs):
        return False
    if background is not None and record.get("background") != _jsonable(background):
        return False
    return all((out / o).is_file() for o in outputs)


def _jsonable(background: Any) -> Any:
    """The composites' background as its record stores it: ``[R, G, B]``, an image path, or None."""
    if background is None:
        return None
    return [int(v) for v in background] if isinstance(background, (list, tuple)) else str(background)


def _ours(path: Path) -> bool:
    from ..io.outputs import is_own_image

    try:
        return bool(is_own_image(path))
    except Exception:  # an unreadable file is not one we recognise
        return False


def _inputs(args, batch, folder: Path) -> list:
    """Every file the run reads (none may be written over)."""
    inputs: list = [args.sam_checkpoint, args.m2m_checkpoint]
    if batch is not None:
        inputs += batch.inputs
    if args.composite and Path(args.background).is_file():
        inputs.append(args.background)
    if getattr(args, "text_model", None) not in (None, "auto", "tiny") and Path(args.text_model).is_dir():
        inputs += [p for p in Path(args.text_model).iterdir() if p.is_file()]
    return inputs


def _check_outputs(args, out: Path, todo: list[_Item], inputs: list) -> None:
    """Before any work: no output over an input, and no existing file the project did not write (without --overwrite)."""
    from ..io.outputs import check_output, starts_with

    foreign = []
    for item in todo:
        for name in item.known:
            dest = out / name
            check_output(dest, inputs=inputs + [item.path], overwrite=True, what="output")
            if not args.overwrite and os.path.lexists(dest) and not _ours(dest):
                foreign.append(name)
    if foreign:
        shown = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
        raise OutputError(f"-o/--out {str(out)!r} already holds {len(foreign)} file(s) of the names mam matte would "
                          f"write that it did not write itself ({shown}); pass --overwrite to replace them, or choose "
                          "another folder")
    check_output(out / SUMMARY_NAME, inputs=inputs, overwrite=args.overwrite,
                 ours=starts_with(f'{{\n  "format": "{SUMMARY_FORMAT}"'), what="summary")


def run_folder(args, background: Any = None) -> int:
    """Run ``mam matte DIR …`` (see the module docstring); returns the exit status.

    ``background``: the composites' background, checked (an RGB tuple or an image path), or None
    without ``--composite``."""
    from ..io.outputs import check_output_dir, real_path, run_lock
    from ._common import at_least, check_checkpoints, check_device, text_config
    from .batch_prompts import read_batch_prompts

    started = time.perf_counter()
    folder = Path(args.image)
    _check_options(args)
    out = check_output_dir(args.out, inputs=[folder], what="-o/--out")
    if real_path(out) in real_path(folder).parents:
        raise OutputError(f"-o/--out {str(out)!r} contains the input folder {str(folder)!r}; choose a folder beside "
                          "it, not above it")
    batch = read_batch_prompts(args.prompts) if args.prompts else None
    default = _default_prompts(args)
    if batch is None and default is None:
        raise MamError(f"{str(folder)!r} is a folder: give the prompts of its images with --prompts FILE (see "
                       "docs/batch.md), or one prompt for every image with --box/--point/--text")
    images = list_images(folder)
    if not images:
        raise MamError(f"the folder {str(folder)!r} holds no images ({' '.join(FOLDER_IMAGE_EXTENSIONS)}); give the "
                       "folder of the images to matte")
    items, missing = _plan(images, batch, default)
    if not any(i.prompts is not None or i.error for i in items):
        example = ", ".join(repr(p.name) for p in images[:3])
        raise MamError(f"no image of {str(folder)!r} is listed in the prompts file; its keys are the images' file "
                       f"names, such as {example}")
    has_text = any(i.prompts is not None and i.prompts.has_text for i in items)
    if has_text:
        from ..inference.text import require_transformers

        at_least(args.max_instances, 1, "--max-instances")
        text_config(args)  # thresholds in [0, 1]
        require_transformers()  # the text extra is installed
    check_device(args.device)
    check_checkpoints(sam_checkpoint=args.sam_checkpoint, m2m_checkpoint=args.m2m_checkpoint)
    claimed: dict[str, str] = {}  # output name → the image that writes it
    for item in items:
        if item.prompts is None:
            continue
        item.known = _known_outputs(item.prompts, args.composite)
        try:
            _check_unique(item.known, item.prompts)
        except PromptError as err:
            item.error, item.known = str(err), []
            continue
        clash = sorted({claimed[n] for n in item.known if n in claimed})
        if clash:
            item.error = (f"its files would have the same names as those of {clash[0]!r} ({item.known[0]}); rename one "
                          "of the images (or give the objects other names)")
            item.known = []
            continue
        claimed.update((n, item.name) for n in item.known)
        item.key = _key(item, args)
    prompted = [i for i in items if i.prompts is not None and i.error is None]
    todo = [i for i in prompted if args.overwrite or not is_done(out, i.name, i.key, background)]
    inputs = _inputs(args, batch, folder)
    _check_outputs(args, out, todo, inputs)
    with run_lock(out, "mam matte"):
        return _run(args, folder, out, items, missing, todo, inputs, background, claimed, started)


def _run(args, folder: Path, out: Path, items: list[_Item], missing, todo: list[_Item], inputs, background, claimed,
         started: float) -> int:
    from tqdm.auto import tqdm

    from ..io.atomic import remove_temporaries

    remove_temporaries(out, r".+_(cutout|alpha|composite)\.png|" + re.escape(SUMMARY_NAME))
    remove_temporaries(out / RECORDS_DIR, r".+\.json")
    failed: dict[str, str] = {n: e for n, e in missing}
    failed.update((i.name, i.error) for i in items if i.error)
    done: list[str] = []
    pending = {id(i) for i in todo}
    skipped = [i.name for i in items if i.prompts is not None and i.error is None and id(i) not in pending]
    no_prompt = [i.name for i in items if i.prompts is None and i.error is None]
    for name, error in failed.items():
        print(f"mam matte: failed: {name}: {error}", file=sys.stderr)
    if todo:
        matter = _Matter(args, out, inputs, background, claimed, any(i.prompts.has_text for i in todo))
        bar = tqdm(todo, desc="matting", unit="image", disable=args.no_progress, file=sys.stderr)
        for item in bar:
            bar.set_postfix_str(item.name, refresh=False)
            try:
                matter.matte(item)
            except Exception as err:  # one image's failure: reported, the others go on
                if os.environ.get("MAM_DEBUG") and not isinstance(err, MamError):
                    raise
                message = " ".join(str(err).split()) or type(err).__name__
                if not isinstance(err, (MamError, OSError)):
                    message = f"{type(err).__name__}: {message}"
                failed[item.name] = message
                tqdm.write(f"mam matte: failed: {item.name}: {message}", file=sys.stderr)
            else:
                done.append(item.name)
        bar.close()
    seconds = time.perf_counter() - started
    _summary(out, folder, args, done, skipped, failed, no_prompt, seconds)
    return SOME_FAILED if failed else 0


def _summary(out: Path, folder: Path, args, done, skipped, failed: dict[str, str], no_prompt, seconds: float) -> None:
    from ..io.atomic import atomic_write_text

    record = {"format": SUMMARY_FORMAT, "version": 1, "input": str(folder), "prompts": args.prompts,
              "done": done, "skipped": skipped, "failed": [{"image": n, "error": e} for n, e in sorted(failed.items())],
              "no_prompt": no_prompt, "seconds": round(seconds, 3)}
    path = atomic_write_text(out / SUMMARY_NAME, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    print(f"mam matte: {len(done)} done, {len(skipped)} skipped (already done), {len(failed)} failed, "
          f"{len(no_prompt)} without a prompt; {seconds:.1f} s")
    shown = sorted(failed.items())
    for name, error in shown[:SHOWN_FAILURES]:
        print(f"  failed: {name}: {error}")
    if len(shown) > SHOWN_FAILURES:
        print(f"  … and {len(shown) - SHOWN_FAILURES} more failures, all listed in {SUMMARY_NAME}")
    if no_prompt:
        print(f"  without a prompt: {', '.join(no_prompt[:10])}{' …' if len(no_prompt) > 10 else ''}")
    print(f"summary: {path}")


class _Matter:
    """The models, built once, and the matting of one image after another."""

    def __init__(self, args, out: Path, inputs, background, claimed: dict[str, str], needs_text: bool):
        from ..inference.predictor import build_predictor
        from ._common import text_config

        self.args, self.out, self.inputs, self.background, self.claimed = args, out, inputs, background, claimed
        self.detector = self.text_config = None
        if needs_text:  # the detector first: a missing extra or missing weights fail before SAM loads
            from ..inference.text import load_text_detector

            self.detector, real_detector = load_text_detector(args.text_model, args.device)
            if not real_detector:
                print(f"warning: {self.detector.description}", file=sys.stderr)
            self.text_config = text_config(args, self.detector.config, max_detections=args.max_instances)
        self.predictor, real = build_predictor(args.sam_variant, args.sam_checkpoint, args.m2m_checkpoint, args.device,
                                               backend=args.backend)
        if not real:
            print(f"warning: {self.predictor.description}", file=sys.stderr)
        self.refinement = self.predictor.refinement.with_(guidance=args.guidance)

    def _mattes(self, item: _Item, image) -> list[tuple[str, str | None, int | None, Any, dict]]:
        """``(object name, file label, instance, alpha, details)`` of every object of the image, in order."""
        from ..widget.prompts import refinement_from_dict, validate_prompts
        from ..widget.session import merge_alpha
        from .batch_prompts import TextObject

        prompts = item.prompts
        h, w = image.shape[:2]
        if prompts.size is not None and tuple(prompts.size) != (w, h):
            raise PromptError(f"the widget's prompts ({prompts.source}) were made on a {prompts.size[0]}×"
                              f"{prompts.size[1]} image; {item.name} is {w}×{h}")
        config = self.refinement if prompts.refinement is None else refinement_from_dict(prompts.refinement,
                                                                                          self.refinement)
        checked = []
        for o in prompts.objects:
            try:
                checked.append(o if isinstance(o, TextObject) else validate_prompts(o, (h, w)))
            except PromptError as err:
                raise PromptError(f"object {o.name!r}: {err}") from None
        detections = {}
        for o in checked:  # detect before encoding: a text that finds nothing costs no SAM encoding
            if isinstance(o, TextObject):
                found = self.detector.detect(image, o.text, config=self.text_config)
                if not len(found):
                    raise PromptError(f"no object matches {o.text!r} above --box-threshold "
                                      f"{self.text_config.box_threshold:g} (--text-threshold "
                                      f"{self.text_config.text_threshold:g}); lower --box-threshold or rephrase the text")
                detections[o.name] = found
        self.predictor.set_image(image)  # SAM encodes the image once; every object reuses it
        mattes, by_name = [], {}
        for o, label in zip(checked, _labels(prompts)):
            if isinstance(o, TextObject):
                results = self.predictor.matte_detections(detections[o.name], refinement=config)
                for i, r in enumerate(results, 1):
                    det = r.detection
                    mattes.append((o.name, label, i if len(results) > 1 else None, r.alpha,
                                   {"text": o.text, "phrase": det.phrase, "score": round(float(det.score), 4),
                                    "box": [round(float(v), 1) for v in det.box]}))
                continue
            if o.is_merge:
                alpha = merge_alpha(*(by_name[n] for n in o.merge_of))
            else:
                alpha = self.predictor.predict(**o.predictor_kwargs((h, w)), refinement=config).alpha
            by_name[o.name] = alpha
            mattes.append((o.name, label, None, alpha, {"prompt": o.describe()}))
        return mattes

    def matte(self, item: _Item) -> None:
        """Matte every object of one image and write its files, then its record."""
        import numpy as np

        from ..io.atomic import atomic_write_text
        from ..io.cutout import foreground_colors, save_alpha, save_composite, save_rgba
        from ..io.images import load_image
        from ..io.outputs import check_output, is_own_image

        image = load_image(item.path)
        mattes = self._mattes(item, image)
        stem = item.path.stem
        kinds = KINDS if self.background is not None else KINDS[:2]
        per_matte = [{kind: output_name(stem, label, i, kind) for kind in kinds} for _, label, i, _, _ in mattes]
        names = [name for files in per_matte for name in files.values()]
        _check_unique(names, item.prompts)
        for name in names:
            owner = self.claimed.get(name)
            if owner is not None and owner != item.name:
                raise OutputError(f"{name} is a file of {owner!r} too; rename one of the images")
            check_output(self.out / name, inputs=self.inputs + [item.path], overwrite=self.args.overwrite,
                         ours=is_own_image, what="output")
        estimate = not self.args.no_fg_estimation
        for (_, _, _, alpha, _), files in zip(mattes, per_matte):
            # one foreground estimate for the cut-out and the composite of a matte
            fg = foreground_colors(image, alpha) if estimate and "composite" in files else None
            save_rgba(self.out / files["cutout"], image, alpha, estimate_fg=estimate, fg=fg)
            save_alpha(self.out / files["alpha"], alpha)
            if "composite" in files:
                save_composite(self.out / files["composite"], image, alpha, self.background, estimate_fg=estimate,
                               fg=fg)
            self.claimed.update((name, item.name) for name in files.values())
        objects = [{"name": n, "instance": i, "coverage": round(float(np.mean(a)), 4), **details}
                   for n, _, i, a, details in mattes]
        record = {"format": RECORD_FORMAT, "version": 1, "image": item.name, "key": item.key,
                  "background": _jsonable(self.background), "outputs": names,
                  "objects": objects}
        atomic_write_text(_record_path(self.out, item.name), json.dumps(record, indent=1, ensure_ascii=False) + "\n")
