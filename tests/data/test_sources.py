"""Folder-layout readers: finding, pairing, rejecting; ``mam synth`` output round-trips."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from mam_lib.data import sources as D
from mam_lib.errors import DatasetError, ImageReadError

REPO = Path(__file__).resolve().parents[2]


def _write(path: Path, h=20, w=30, channels=3, value=None, dtype=np.uint8):
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (h, w, channels) if channels > 1 else (h, w)
    rng = np.random.default_rng(abs(hash(path.name)) % 2**32)
    img = rng.integers(0, np.iinfo(dtype).max, shape, dtype=dtype) if value is None else np.full(shape, value, dtype)
    assert cv2.imwrite(str(path), img)
    return img


def _pairs(color_dir: Path, alpha_dir: Path, names, color_ext=".jpg", alpha_ext=".png", h=20, w=30):
    for n in names:
        _write(color_dir / f"{n}{color_ext}", h, w)
        _write(alpha_dir / f"{n}{alpha_ext}", h, w, channels=1)


def test_pair_by_stem_pairs_across_extensions(tmp_path):
    _pairs(tmp_path / "fg", tmp_path / "alpha", ["a", "b", "c"])
    pairs = D.pair_by_stem(tmp_path / "fg", tmp_path / "alpha")
    assert [p.name for p in pairs] == ["a", "b", "c"]
    assert all(p.color.suffix == ".jpg" and p.alpha.suffix == ".png" for p in pairs)


def test_pair_by_stem_reports_unpaired_files(tmp_path):
    _pairs(tmp_path / "fg", tmp_path / "alpha", ["a", "b"])
    _write(tmp_path / "fg" / "only_fg.png")
    _write(tmp_path / "alpha" / "only_alpha1.png", channels=1)
    _write(tmp_path / "alpha" / "only_alpha2.png", channels=1)
    (tmp_path / "fg" / "notes.txt").write_text("not an image")
    with pytest.raises(DatasetError) as err:
        D.pair_by_stem(tmp_path / "fg", tmp_path / "alpha")
    msg = str(err.value)
    assert "1 image(s)" in msg and "only_fg.png" in msg
    assert "2 alpha(s)" in msg and "only_alpha1.png" in msg and "only_alpha2.png" in msg
    assert "2 good pair(s)" in msg
    assert len(D.pair_by_stem(tmp_path / "fg", tmp_path / "alpha", strict=False)) == 2


def test_pair_by_stem_reports_size_mismatch(tmp_path):
    _pairs(tmp_path / "fg", tmp_path / "alpha", ["a"])
    _write(tmp_path / "fg" / "b.jpg", 20, 30)
    _write(tmp_path / "alpha" / "b.png", 21, 30, channels=1)
    with pytest.raises(DatasetError, match=r"1 pair\(s\) whose sizes differ: b.jpg 30x20 vs b.png 30x21"):
        D.pair_by_stem(tmp_path / "fg", tmp_path / "alpha")
    assert [p.name for p in D.pair_by_stem(tmp_path / "fg", tmp_path / "alpha", strict=False)] == ["a"]


def test_many_unpaired_files_are_counted_not_all_listed(tmp_path):
    _pairs(tmp_path / "fg", tmp_path / "alpha", ["a"])
    for i in range(15):
        _write(tmp_path / "fg" / f"x{i:02d}.png", 4, 4)
    with pytest.raises(DatasetError, match=r"15 image\(s\).*\(5 more\)"):
        D.pair_by_stem(tmp_path / "fg", tmp_path / "alpha")


def test_aim_layout(tmp_path):
    root = tmp_path / "Combined_Dataset"
    train = root / "Training_set"
    _pairs(train / "Adobe-licensed images" / "fg", train / "Adobe-licensed images" / "alpha", ["a1", "a2"])
    _pairs(train / "Other" / "fg", train / "Other" / "alpha", ["o1"])
    test = root / "Test_set" / "Adobe-licensed images"
    _pairs(test / "fg", test / "alpha", ["t1", "t2", "t3"])
    src = D.aim(root, "train")
    assert len(src) == 3 and src.role == "foreground"
    assert "3 foregrounds" in src.describe()
    fg, alpha = src.load(0)
    assert fg.shape == (20, 30, 3) and fg.dtype == np.uint8 and alpha.shape == (20, 30)
    assert len(D.aim(root, "test")) == 3
    assert len(D.aim(train)) == 3  # a split folder given directly
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="no 'fg' folder"):
        D.aim(empty)


def test_distinctions_am2k_human2k_layouts(tmp_path):
    _pairs(tmp_path / "d646" / "Train" / "FG", tmp_path / "d646" / "Train" / "GT", ["x", "y"])
    assert len(D.distinctions646(tmp_path / "d646", "train")) == 2
    am = tmp_path / "AM-2k"
    _pairs(am / "train" / "fg", am / "train" / "mask", ["m_1", "m_2", "m_3"])
    _pairs(am / "train" / "original", am / "train" / "mask", ["m_1", "m_2", "m_3"])
    _pairs(am / "validation" / "original", am / "validation" / "mask", ["v_1"])
    assert len(D.am2k(am, "train")) == 3
    assert D.am2k(am, "train", use="original").role == "image"
    assert len(D.am2k(am, "val", use="original")) == 1
    _pairs(tmp_path / "h2k" / "Test" / "FG", tmp_path / "h2k" / "Test" / "Alpha", ["p"])
    assert len(D.human2k(tmp_path / "h2k", "test")) == 1
    with pytest.raises(DatasetError, match="no folder named 'Train'|train"):
        D.human2k(tmp_path / "h2k", "train")


def test_p3m_and_refmatte_are_real_images(tmp_path):
    p3m = tmp_path / "P3M-10k"
    _pairs(p3m / "train" / "blurred_image", p3m / "train" / "mask", ["p_1", "p_2"])
    _pairs(p3m / "validation" / "P3M-500-NP" / "original_image", p3m / "validation" / "P3M-500-NP" / "mask", ["q"])
    src = D.p3m(p3m, "train")
    assert len(src) == 2 and src.role == "image"
    assert len(D.p3m(p3m, "val", subset="P3M-500-NP")) == 1
    ref = tmp_path / "RefMatte"
    _write(ref / "train" / "img" / "scene1.jpg")
    _write(ref / "train" / "img" / "scene2.jpg")
    for name in ["scene1_0", "scene1_1", "scene2"]:
        _write(ref / "train" / "mask" / f"{name}.png", channels=1)
    src = D.refmatte(ref, "train")
    assert len(src) == 3 and src.role == "image"
    assert [p.color.stem for p in src.pairs] == ["scene1", "scene1", "scene2"]


def test_backgrounds_recursive(tmp_path):
    _write(tmp_path / "bg" / "a.jpg")
    _write(tmp_path / "bg" / "sub" / "b.png")
    (tmp_path / "bg" / "readme.txt").write_text("x")
    src = D.backgrounds(tmp_path / "bg")
    assert len(src) == 2 and src.load(1).shape == (20, 30, 3)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no images"):
        D.backgrounds(tmp_path / "empty")
    with pytest.raises(DatasetError, match="does not exist"):
        D.backgrounds(tmp_path / "missing")


def test_missing_layout_folder_message_lists_what_is_there(tmp_path):
    (tmp_path / "d646" / "Train" / "images").mkdir(parents=True)
    with pytest.raises(DatasetError, match="it has: images"):
        D.distinctions646(tmp_path / "d646", "train")
    with pytest.raises(DatasetError, match="unknown data-set layout"):
        D.open_source("imagenet", tmp_path)


def test_open_source_aliases(tmp_path):
    _pairs(tmp_path / "d" / "Train" / "FG", tmp_path / "d" / "Train" / "GT", ["x"])
    assert len(D.open_source("Distinctions-646", tmp_path / "d", "train")) == 1


def test_readers_of_odd_files(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    with pytest.raises(ImageReadError, match="broken.png"):
        D.read_image(bad)
    with pytest.raises(ImageReadError):
        D.read_alpha(tmp_path / "missing.png")
    a16 = _write(tmp_path / "a16.png", channels=1, dtype=np.uint16)
    alpha = D.read_alpha(tmp_path / "a16.png")
    assert alpha.dtype == np.float32 and np.allclose(alpha, a16 / 65535.0, atol=1e-6)
    rgba = np.zeros((5, 6, 4), np.uint8)
    rgba[..., 3] = 200
    cv2.imwrite(str(tmp_path / "rgba.png"), rgba)
    assert (D.read_alpha(tmp_path / "rgba.png") == 200).all()
    assert D.read_image(tmp_path / "rgba.png").shape == (5, 6, 3)
    grey = _write(tmp_path / "grey.png", channels=1)
    assert np.array_equal(D.read_image(tmp_path / "grey.png")[..., 1], grey)


def test_mam_synth_output_round_trips(tmp_path):
    from mam_lib.cli import main

    out = tmp_path / "synthetic"
    assert main(["synth", "-n", "3", "--size", "64", "--seed", "1", "--quiet", "--fg-bg", str(out)]) == 0
    src = D.image_alpha_folder(out)
    assert len(src) == 3 and src.role == "image"
    boxes = json.loads((out / "boxes.json").read_text())
    assert sorted(boxes) == ["0000", "0001", "0002"]
    for k, pair in enumerate(src.pairs):
        image, alpha = src.load(k)
        assert image.shape == (64, 64, 3) and alpha.shape == (64, 64) and alpha.dtype == np.uint8
        ys, xs = np.nonzero(alpha > 127)
        assert boxes[pair.name] == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
        trimap = cv2.imread(str(out / "trimaps" / f"{pair.name}.png"), cv2.IMREAD_GRAYSCALE)
        assert set(np.unique(trimap)) <= {0, 128, 255}
        assert (alpha[trimap == 255] == 255).all() and (alpha[trimap == 0] == 0).all()
        # the stored composite is alpha*fg + (1-alpha)*bg up to 8-bit rounding
        fg = D.read_image(out / "fg" / f"{pair.name}.png").astype(np.float32)
        bg = D.read_image(out / "bg" / f"{pair.name}.png").astype(np.float32)
        a = alpha.astype(np.float32)[..., None] / 255
        assert np.abs(a * fg + (1 - a) * bg - image).max() <= 2.0
    assert len(D.foreground_folder(out, alphas="alphas")) == 3
    # the same seed writes the same files
    again = tmp_path / "again"
    main(["synth", "-n", "1", "--size", "64", "--seed", "1", "--quiet", str(again)])
    assert (again / "images" / "0000.png").read_bytes() == (out / "images" / "0000.png").read_bytes()


def test_synth_cli_rejects_bad_arguments(tmp_path, capsys):
    from mam_lib.cli import main

    assert main(["synth", "-n", "0", str(tmp_path / "x")]) == 2
    assert main(["synth", "-n", "1", "--kinds", "hair,scales", str(tmp_path / "x")]) == 2
    assert "scales" in capsys.readouterr().err


def test_data_samples_folder():
    samples = REPO / "data_samples"
    src = D.foreground_folder(samples / "foregrounds")
    assert {p.name for p in src.pairs} == {"hair", "fur", "soft", "glass", "holes", "multi"}
    assert len(D.backgrounds(samples / "backgrounds")) >= 3
    image = D.read_image(samples / "demo" / "image.png")
    alpha = D.read_alpha(samples / "demo" / "alpha.png")
    fg = D.read_image(samples / "demo" / "fg.png").astype(np.float32)
    bg = D.read_image(samples / "demo" / "bg.png").astype(np.float32)
    assert image.shape == (480, 640, 3) and alpha.shape == (480, 640) and alpha.dtype == np.uint8
    a = alpha.astype(np.float32)[..., None] / 255
    assert np.abs(a * fg + (1 - a) * bg - image).max() <= 1.0
    prompt = json.loads((samples / "demo" / "prompt.json").read_text())
    ys, xs = np.nonzero(alpha > 127)
    assert prompt["box"] == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    (x, y), = prompt["points"]
    assert prompt["labels"] == [1]
    assert (alpha[max(0, y - 10):y + 11, max(0, x - 10):x + 11] == 255).all()  # well inside
    total = sum(p.stat().st_size for p in samples.rglob("*") if p.is_file())
    assert total < 3 * 1024 * 1024


def test_procedural_sources_disk_cache(tmp_path):
    first = D.ProceduralForegrounds(count=3, size=(64, 80), seed=5, cache_dir=tmp_path)
    fg, alpha = first.load(1)
    assert alpha.dtype == np.float32  # drawn
    assert len(list(tmp_path.glob("fg_6_*.png"))) == 2  # colour + alpha written
    again = D.ProceduralForegrounds(count=3, size=(64, 80), seed=5, cache_dir=tmp_path)
    fg2, alpha2 = again.load(1)
    assert alpha2.dtype == np.uint8  # read back from the files
    assert np.array_equal(fg2, fg) and np.array_equal(alpha2, np.round(alpha * 255).astype(np.uint8))
    bgs = D.ProceduralBackgrounds(count=2, size=(40, 50), cache_dir=tmp_path)
    assert np.array_equal(bgs.load(0), D.ProceduralBackgrounds(count=2, size=(40, 50), cache_dir=tmp_path).load(0))
    assert "stored in" in again.describe()
