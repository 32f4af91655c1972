"""Benchmark presets: lookup, folder layouts, pairing of images and ground truth, instance folders."""
from __future__ import annotations

import numpy as np
import pytest

from mam_lib.errors import DatasetError
from mam_lib.evaluation import benchmarks as B


def test_every_published_benchmark_has_a_preset_with_its_region_convention():
    expected = {"ppm-100": "all", "am-2k": "all", "composition-1k": "unknown", "distinctions-646": "unknown",
                "him2k": "all", "rwp-636": "all", "refmatte-rw100": "all"}
    for name, region in expected.items():
        preset = B.get_preset(name)
        assert preset.region == region
        if region == "unknown":
            assert preset.trimap_dirs, name
    assert B.get_preset("him2k").instances == "folder"
    assert B.get_preset("rwp-636").is_instance and not B.get_preset("ppm-100").is_instance
    # aliases and spellings
    assert B.get_preset("Comp1K").name == "composition-1k"
    assert B.get_preset("RefMatte_RW100").name == "refmatte-rw100"
    with pytest.raises(DatasetError, match="unknown benchmark"):
        B.get_preset("imagenet")


def test_resolve_layout_finds_candidate_folders_and_names_what_is_missing(tmp_path):
    root = tmp_path / "Composition-1k-testset"
    for sub in ("merged", "alpha_copy", "trimaps"):
        (root / sub).mkdir(parents=True)
    layout = B.resolve_layout(B.get_preset("composition-1k"), root)
    assert (layout.image_dir.name, layout.alpha_dir.name, layout.trimap_dir.name) == ("merged", "alpha_copy", "trimaps")
    # an explicit folder wins over the candidates
    (root / "my_alphas").mkdir()
    assert B.resolve_layout(B.get_preset("composition-1k"), root, alpha_dir="my_alphas").alpha_dir == root / "my_alphas"
    # the trimap folder is required for a trimap benchmark, and the message lists the candidates
    (root / "trimaps").rmdir()
    with pytest.raises(DatasetError, match="trimaps"):
        B.resolve_layout(B.get_preset("composition-1k"), root)
    with pytest.raises(DatasetError, match="does not exist"):
        B.resolve_layout(B.get_preset("ppm-100"), tmp_path / "nowhere")


def test_list_samples_pairs_by_stem_and_reports_the_unpaired(tmp_path, write_file):
    img = np.zeros((8, 8, 3), np.uint8)
    a = np.zeros((8, 8), np.uint8)
    for stem in ("p1", "p2", "only_image"):
        write_file(tmp_path / "image" / f"{stem}.jpg", img)
    for stem in ("p1", "p2", "only_alpha"):
        write_file(tmp_path / "matte" / f"{stem}.png", a)
    preset = B.get_preset("ppm-100")
    listing = B.list_samples(preset, B.resolve_layout(preset, tmp_path))
    assert [s.name for s in listing.samples] == ["p1.png", "p2.png"]
    assert listing.samples[0].image_path.suffix == ".jpg"
    assert listing.images_without_alpha == ["only_image"]
    assert listing.alphas_without_image == ["only_alpha"]


def test_instance_folders_give_one_sample_per_instance(tmp_path, write_file):
    img = np.zeros((8, 8, 3), np.uint8)
    a = np.zeros((8, 8), np.uint8)
    write_file(tmp_path / "images" / "natural" / "crowd.jpg", img)
    for inst in ("00", "01", "02"):
        write_file(tmp_path / "alphas" / "natural" / "crowd" / f"{inst}.png", a)
    preset = B.get_preset("him2k")
    listing = B.list_samples(preset, B.resolve_layout(preset, tmp_path))
    assert [s.name for s in listing.samples] == ["crowd/00.png", "crowd/01.png", "crowd/02.png"]
    assert {s.image_path.name for s in listing.samples} == {"crowd.jpg"}
