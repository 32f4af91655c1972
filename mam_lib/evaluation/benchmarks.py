"""Presets of the published matting benchmarks: folder layouts, which pixels count, how samples pair.

None of these data sets can be downloaded by the library; a user who has one points a preset at
its root folder. Each preset lists the sub-folders where its images, ground-truth alphas and
(where the benchmark has them) trimaps usually live; the first candidate that exists is used, and
every folder can be overridden.

=====================  ==========  =====================  =========================================
preset                 region      instances              default layout under the root
=====================  ==========  =====================  =========================================
``ppm-100``            all         one per image          ``image/``, ``matte/``
``am-2k``              all         one per image          ``validation/original/``, ``validation/mask/``
``composition-1k``     unknown     one per image          ``merged/``, ``alpha_copy/``, ``trimaps/``
``distinctions-646``   unknown     one per image          ``Image/``, ``GT/``, ``Trimap/``
``him2k``              all         folder of instances    ``images/natural/``, ``alphas/natural/<image>/``
``rwp-636``            all         one instance / image   ``image/``, ``alpha/``
``refmatte-rw100``     all         one referred object    ``image_all/`` (or ``image/``), ``mask/``
=====================  ==========  =====================  =========================================

Region conventions: PPM-100, AM-2K, RefMatte-RW100 and the instance benchmarks are scored on the
whole image; Composition-1k and Distinctions-646 on the trimap's unknown region (pixels = 128).

Pairing: an image and its alpha belong together when their file names without extension are
equal (``0001.jpg`` ↔ ``0001.png``). With instance folders (HIM2K) the alphas of image
``<stem>`` are the files of the folder ``<alphas>/<stem>/``, one file per person.

RefMatte-RW100's referring expressions (``refmatte_rw100_label.json`` in its root) are read by
:mod:`mam_lib.evaluation.text_prompts` for text-prompt predictions."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence


from ..errors import DatasetError

__all__ = [
    "IMAGE_EXTENSIONS",
    "BenchmarkPreset",
    "BenchmarkLayout",
    "BenchmarkSample",
    "SampleListing",
    "PRESETS",
    "preset_names",
    "get_preset",
    "folder_preset",
    "resolve_layout",
    "list_image_files",
    "list_samples",
]

#: File extensions read as images or alphas (lower case).
IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class BenchmarkPreset:
    """How one benchmark is laid out on disk and scored."""

    name: str  # canonical id used on the command line, e.g. "composition-1k"
    title: str  # name printed in tables, e.g. "Composition-1k"
    image_dirs: tuple[str, ...]  # candidate image folders relative to the root, first existing wins
    alpha_dirs: tuple[str, ...]  # candidate ground-truth alpha folders
    trimap_dirs: tuple[str, ...] = ()  # candidate trimap folders; empty when the benchmark has none
    region: str = "all"  # "all": whole image; "unknown": trimap pixels equal to 128
    instances: str = "none"  # "none": one alpha per image; "single": one instance per image, matched by
    #                          IoU; "folder": <alphas>/<image stem>/<instance>.png, matched by IoU
    aliases: tuple[str, ...] = ()  # other spellings accepted by get_preset
    notes: str = ""  # one line for the docs and --help

    @property
    def is_instance(self) -> bool:
        """True for instance benchmarks (predictions are matched to instances by IoU)."""
        return self.instances != "none"


PRESETS: dict[str, BenchmarkPreset] = {
    p.name: p
    for p in (
        BenchmarkPreset(
            "ppm-100", "PPM-100", ("image", "images"), ("matte", "alpha", "mattes"),
            aliases=("ppm100",), notes="portrait matting (MODNet); whole image"),
        BenchmarkPreset(
            "am-2k", "AM-2K", ("validation/original", "original", "image", "images"),
            ("validation/mask", "mask", "alpha"), ("validation/trimap", "trimap"),
            aliases=("am2k", "am-2k-validation"), notes="animal matting (GFM), validation split; whole image"),
        BenchmarkPreset(
            "composition-1k", "Composition-1k", ("merged", "image", "images"), ("alpha_copy", "alpha", "alphas"),
            ("trimaps", "trimap"), region="unknown",
            aliases=("comp1k", "composition1k", "adobe"),
            notes="Adobe Deep Image Matting test set composited on VOC; trimap unknown region"),
        BenchmarkPreset(
            "distinctions-646", "Distinctions-646", ("Image", "merged", "image", "images"), ("GT", "alpha", "Alpha"),
            ("Trimap", "trimaps", "trimap"), region="unknown",
            aliases=("d646", "distinctions646"), notes="HAttMatting test set; trimap unknown region"),
        BenchmarkPreset(
            "him2k", "HIM2K", ("images/natural", "images"), ("alphas/natural", "alphas"), instances="folder",
            aliases=("him-2k", "him2k-natural"),
            notes="human instance matting; one alpha per person in a folder per image; whole image"),
        BenchmarkPreset(
            "him2k-comp", "HIM2K (composited)", ("images/comp",), ("alphas/comp",), instances="folder",
            aliases=("him2k_comp",), notes="the composited half of HIM2K"),
        BenchmarkPreset(
            "rwp-636", "RWP-636", ("image", "images"), ("alpha", "alphas", "matte"), instances="single",
            aliases=("rwp636", "rwp"), notes="real-world portraits; one instance per image; whole image"),
        BenchmarkPreset(
            "refmatte-rw100", "RefMatte-RW100", ("image_all", "image", "images"), ("mask", "alpha", "alphas"),
            aliases=("rw100", "refmatte"),
            notes="referring matting on real images; prompts derived from the ground truth, or its text expressions "
                  "(refmatte_rw100_label.json); whole image"),
    )
}


def preset_names() -> list[str]:
    """Canonical names of the presets, in table order."""
    return list(PRESETS)


def get_preset(name: str) -> BenchmarkPreset:
    """Look a preset up by name or alias (case-insensitive; ``_`` and ``-`` are interchangeable)."""
    key = name.strip().lower().replace("_", "-")
    for preset in PRESETS.values():
        if key == preset.name or key in (a.replace("_", "-") for a in preset.aliases):
            return preset
    raise DatasetError(f"unknown benchmark {name!r}; choose one of {', '.join(PRESETS)} or give a folder")


def folder_preset(region: str = "all") -> BenchmarkPreset:
    """A preset for any folder holding ``images/`` (or ``image/``) and ``alphas/`` (or ``alpha/``,
    ``matte/``, ``mask/``, ``GT/``) side by side, with an optional ``trimaps/`` folder."""
    return BenchmarkPreset(
        "folder", "folder", ("images", "image", "merged", "Image"), ("alphas", "alpha", "matte", "mask", "GT"),
        ("trimaps", "trimap", "Trimap"), region=region)


@dataclass(frozen=True)
class BenchmarkLayout:
    """The folders of one benchmark on this machine."""

    root: Path
    image_dir: Path
    alpha_dir: Path
    trimap_dir: Path | None = None


def _first_existing(root: Path, candidates: Sequence[str]) -> Path | None:
    for c in candidates:
        if (root / c).is_dir():
            return root / c
    return None


def resolve_layout(preset: BenchmarkPreset, root: str | Path, image_dir: str | Path | None = None,
                   alpha_dir: str | Path | None = None, trimap_dir: str | Path | None = None) -> BenchmarkLayout:
    """Find the image, alpha and trimap folders of ``preset`` under ``root``.

    Explicit ``image_dir``/``alpha_dir``/``trimap_dir`` (absolute, or relative to ``root``) win over
    the preset's candidates. Raises :class:`DatasetError` naming the folders that were looked for.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"benchmark folder {str(root)!r} does not exist")

    def pick(explicit, candidates, what, required=True):
        if explicit is not None:
            p = Path(explicit)
            p = p if p.is_absolute() else root / p
            if not p.is_dir():
                raise DatasetError(f"{what} folder {str(p)!r} does not exist")
            return p
        found = _first_existing(root, candidates)
        if found is None and required:
            raise DatasetError(
                f"no {what} folder for {preset.title} under {str(root)!r}: looked for "
                f"{', '.join(repr(c) for c in candidates)}; pass the folder explicitly")
        return found

    images = pick(image_dir, preset.image_dirs, "image")
    alphas = pick(alpha_dir, preset.alpha_dirs, "ground-truth alpha")
    trimaps = pick(trimap_dir, preset.trimap_dirs, "trimap", required=preset.region == "unknown")
    return BenchmarkLayout(root, images, alphas, trimaps)


def list_image_files(folder: str | Path, recursive: bool = False) -> dict[str, Path]:
    """Image files of ``folder`` keyed by their path relative to it without extension (``a/b``).

    Hidden files (starting with ``.``) are skipped. Two files with the same key (``x.png`` and
    ``x.jpg``) raise :class:`DatasetError`, since which one is meant is ambiguous.
    """
    folder = Path(folder)
    pattern = "**/*" if recursive else "*"
    out: dict[str, Path] = {}
    for path in sorted(folder.glob(pattern)):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            continue
        key = rel.with_suffix("").as_posix()
        if key in out:
            raise DatasetError(f"{str(out[key])!r} and {str(path)!r} have the same name; keep only one of them")
        out[key] = path
    return out


@dataclass(frozen=True)
class BenchmarkSample:
    """One ground-truth alpha to predict.

    ``name`` is where its prediction goes, relative to the output folder: ``<stem>.png`` or, for
    instance folders, ``<image stem>/<instance stem>.png`` (named like the ground truth, so
    ``mam eval`` pairs them).
    """

    name: str
    image_path: Path
    alpha_path: Path
    trimap_path: Path | None = None


@dataclass
class SampleListing:
    """The samples of a benchmark and the files that could not be paired."""

    samples: list[BenchmarkSample]
    images_without_alpha: list[str] = field(default_factory=list)
    alphas_without_image: list[str] = field(default_factory=list)


def list_samples(preset: BenchmarkPreset, layout: BenchmarkLayout) -> SampleListing:
    """Pair the images of ``layout`` with their ground-truth alphas (and trimaps), sorted by name."""
    images = list_image_files(layout.image_dir)
    trimaps = list_image_files(layout.trimap_dir) if layout.trimap_dir is not None else {}
    samples: list[BenchmarkSample] = []
    if preset.instances == "folder":
        folders = {p.name: p for p in sorted(layout.alpha_dir.iterdir()) if p.is_dir() and not p.name.startswith(".")}
        for stem, folder in folders.items():
            if stem not in images:
                continue
            for inst, path in list_image_files(folder).items():
                samples.append(BenchmarkSample(f"{stem}/{inst}.png", images[stem], path))
        return SampleListing(samples, sorted(set(images) - set(folders)), sorted(set(folders) - set(images)))
    alphas = list_image_files(layout.alpha_dir)
    for stem in sorted(set(images) & set(alphas)):
        samples.append(BenchmarkSample(f"{stem}.png", images[stem], alphas[stem], trimaps.get(stem)))
    return SampleListing(samples, sorted(set(images) - set(alphas)), sorted(set(alphas) - set(images)))
