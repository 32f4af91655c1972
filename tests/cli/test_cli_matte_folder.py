"""``mam matte DIR --prompts FILE -o OUT/``: every image of a folder, resumable, past failures, never into DIR.

Most tests stand a fake predictor in for SAM + M2M (the runner's file handling is what they test,
in milliseconds); the widget-export and text tests run the tiny random SAM end to end.
"""
from __future__ import annotations

import json
import types

import numpy as np
import pytest
from PIL import Image

import mam_lib.inference.predictor as predictor_module
from mam_lib.cli import main
from mam_lib.cli.matte_folder import SOME_FAILED
from mam_lib.inference.refinement import RefinementConfig
from mam_lib.io.images import load_image


class _FakePredictor:
    """Stands in for SAM + M2M; records every image it encodes and every prompt it is given."""

    description = "fake"

    def __init__(self, log):
        self.log = log
        self.image = None
        self.refinement = RefinementConfig()

    def set_image(self, image):
        self.image = load_image(image)
        self.log.append(("encode", self.image.shape[:2]))

    def predict(self, box=None, points=None, labels=None, refinement=None, **kwargs):
        self.log.append(("predict", None if box is None else [float(v) for v in box],
                         None if points is None else np.asarray(points).tolist(),
                         None if labels is None else np.asarray(labels).tolist()))
        alpha = np.zeros(self.image.shape[:2], np.float32)
        if box is not None:
            x0, y0, x1, y1 = (int(round(float(v))) for v in box)
            alpha[y0:y1, x0:x1] = 1.0
        else:
            alpha[1:-1, 1:-1] = 0.5
        return types.SimpleNamespace(alpha=alpha, timings={"total": 1.0})


@pytest.fixture()
def fake(monkeypatch):
    log: list = []
    built = []
    built_with = []

    def build(*args, **kwargs):
        built.append(args)
        built_with.append(kwargs)
        return _FakePredictor(log), False

    monkeypatch.setattr(predictor_module, "build_predictor", build)
    return types.SimpleNamespace(log=log, built=built, built_with=built_with)


def _photo(path, size=(40, 56)):
    h, w = size
    img = np.zeros((h, w, 3), np.uint8)
    img[10:30, 12:40] = (240, 200, 120)
    Image.fromarray(img).save(path)
    return path


def _prompts(path, images: dict) -> str:
    path.write_text(json.dumps({"format": "mam-batch-prompts", "version": 1, "images": images}))
    return str(path)


def _snapshot(folder) -> dict:
    """Every file under ``folder``: its bytes and modification time."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture()
def folder(tmp_path):
    """a.png (a box), b.jpg (two named objects and their merge), c.png (truncated), d.png (a box outside it),
    e.png (no prompt), notes.txt (not an image)."""
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.png", "b.jpg", "c.png", "d.png", "e.png"):
        _photo(src / name)
    (src / "c.png").write_bytes((src / "c.png").read_bytes()[:60])  # a truncated PNG
    (src / "notes.txt").write_text("not an image")
    prompts = _prompts(tmp_path / "prompts.json", {
        "a.png": {"box": [10, 8, 42, 32]},
        "b.jpg": [{"name": "left", "points": [[20, 20], [2, 2]], "labels": [1, 0]},
                  {"name": "right", "box": [30, 5, 50, 35]},
                  {"name": "both", "merge": ["left", "right"]}],
        "c.png": {"box": [1, 1, 20, 20]},
        "d.png": {"box": [100, 100, 120, 120]},
    })
    return types.SimpleNamespace(src=src, prompts=prompts, out=tmp_path / "out", root=tmp_path)


def _run(f, *extra):
    return main(["matte", str(f.src), "--prompts", f.prompts, "-o", str(f.out), *extra])


def test_folder_writes_every_image_then_skips_done_ones_and_survives_a_corrupt_one(fake, folder, capsys):
    before = _snapshot(folder.src)
    assert _run(folder, "--composite") == SOME_FAILED
    captured = capsys.readouterr()
    written = sorted(p.name for p in folder.out.iterdir() if not p.name.startswith("."))
    objects = ["a", "b_both", "b_left", "b_right"]
    assert written == sorted([f"{o}_{k}.png" for o in objects for k in ("alpha", "composite", "cutout")]
                             + ["matte_summary.json"])
    # the cut-out carries the matte of its own prompt; the merge is the union of the two objects' mattes
    cut = np.asarray(Image.open(folder.out / "a_cutout.png"))
    assert cut.shape == (40, 56, 4) and cut[20, 20, 3] == 255 and cut[2, 2, 3] == 0
    left, right, both = (np.asarray(Image.open(folder.out / f"b_{o}_alpha.png")).astype(float) / 255
                         for o in ("left", "right", "both"))
    np.testing.assert_allclose(both, 1 - (1 - left) * (1 - right), atol=1 / 255)
    # one encoding per image that could be read and whose prompts fit it, every object on it
    encodes = [e for e in fake.log if e[0] == "encode"]
    assert len(encodes) == 2 and len(fake.built) == 1
    predicts = [e[1:] for e in fake.log if e[0] == "predict"]
    assert predicts == [([10.0, 8.0, 42.0, 32.0], None, None), (None, [[20.0, 20.0], [2.0, 2.0]], [1, 0]),
                        ([30.0, 5.0, 50.0, 35.0], None, None)]
    # each failure is one line naming the image, and the summary counts everything
    failures = [line for line in captured.err.splitlines() if "failed:" in line]
    assert len(failures) == 2 and "Traceback" not in captured.err
    assert any("c.png" in line and "could not be read" in line for line in failures)
    assert any("d.png" in line and "outside the 56×40 image" in line for line in failures)
    assert "2 done, 0 skipped (already done), 2 failed, 1 without a prompt" in captured.out
    summary = json.loads((folder.out / "matte_summary.json").read_text())
    assert summary["done"] == ["a.png", "b.jpg"] and summary["no_prompt"] == ["e.png"]
    assert [f["image"] for f in summary["failed"]] == ["c.png", "d.png"]
    assert _snapshot(folder.src) == before  # nothing written into the input folder

    # again: the done images are skipped, their files untouched; the failed ones are tried again
    done_files = _snapshot(folder.out)
    fake.log.clear()
    assert _run(folder, "--composite") == SOME_FAILED
    out = capsys.readouterr().out
    assert "0 done, 2 skipped (already done), 2 failed, 1 without a prompt" in out
    assert [e for e in fake.log if e[0] == "predict"] == []
    after = _snapshot(folder.out)
    for name, content in done_files.items():
        if name != "matte_summary.json":
            assert after[name] == content, name
    assert json.loads((folder.out / "matte_summary.json").read_text())["skipped"] == ["a.png", "b.jpg"]

    # the broken image mended and the prompt fixed: only those two are matted; exit status 0
    _photo(folder.src / "c.png")
    prompts = json.loads(open(folder.prompts).read())
    prompts["images"]["d.png"] = {"box": [5, 5, 20, 20]}
    open(folder.prompts, "w").write(json.dumps(prompts))
    fake.log.clear()
    assert _run(folder, "--composite") == 0
    assert "2 done, 2 skipped (already done), 0 failed, 1 without a prompt" in capsys.readouterr().out
    assert [e[1] for e in fake.log if e[0] == "predict"] == [[1.0, 1.0, 20.0, 20.0], [5.0, 5.0, 20.0, 20.0]]

    # a changed prompt is matted again (its files are the project's own, so they are replaced)
    prompts["images"]["a.png"] = {"box": [0, 0, 30, 30]}
    open(folder.prompts, "w").write(json.dumps(prompts))
    fake.log.clear()
    assert _run(folder, "--composite") == 0
    assert "1 done, 3 skipped" in capsys.readouterr().out
    assert np.asarray(Image.open(folder.out / "a_alpha.png"))[2, 2] == 255
    # --overwrite does them all again
    fake.log.clear()
    assert _run(folder, "--composite", "--overwrite") == 0
    assert "4 done, 0 skipped" in capsys.readouterr().out
    assert len([e for e in fake.log if e[0] == "encode"]) == 4


def test_an_interrupted_image_is_done_again(fake, folder, capsys):
    assert _run(folder) == SOME_FAILED
    (folder.out / "b_right_alpha.png").unlink()  # as if the run had stopped while writing b.jpg's files
    fake.log.clear()
    assert _run(folder) == SOME_FAILED
    assert "1 done, 1 skipped" in capsys.readouterr().out
    assert (folder.out / "b_right_alpha.png").is_file()
    assert len([e for e in fake.log if e[0] == "encode"]) == 1


def test_the_output_folder_never_is_or_lies_in_or_holds_the_input_folder(fake, folder, capsys):
    before = _snapshot(folder.root)
    for out in (folder.src, folder.src / "out", folder.src / "deep" / "out", folder.root):
        assert main(["matte", str(folder.src), "--prompts", folder.prompts, "-o", str(out)]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert "input folder" in err
    assert _snapshot(folder.root) == before and not fake.built
    # through a symbolic link too
    (folder.root / "link").symlink_to(folder.src)
    assert main(["matte", str(folder.src), "--prompts", folder.prompts, "-o", str(folder.root / "link" / "o")]) == 2
    assert "lies inside the input folder" in capsys.readouterr().err
    assert not (folder.src / "o").exists()


def test_malformed_prompts_name_the_image_and_the_field(fake, folder, capsys):
    def error(content) -> str:
        (folder.root / "bad.json").write_text(content)
        assert main(["matte", str(folder.src), "--prompts", str(folder.root / "bad.json"), "-o", str(folder.out)]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        return err

    assert "not valid JSON" in error("{")
    assert "'images' must be a non-empty object" in error('{"format": "mam-batch-prompts"}')
    assert "version 9 is newer" in error('{"format": "mam-batch-prompts", "version": 9, "images": {"a.png": {}}}')
    assert "no image of" in error('{"images": {"zzz.png": {"box": [1, 1, 5, 5]}}}')
    assert not folder.out.exists()
    # a bad entry is that image's failure, naming it and the field; the other images are matted
    prompts = _prompts(folder.root / "p.json", {
        "a.png": {"boxes": [1, 1, 9, 9]},
        "b.jpg": {"points": [[20, 20]], "labels": [1, 1]},
        "c.png": {"text": "a cat", "box": [1, 1, 9, 9]},
        "d.png": {"box": [1, 2, 3]},
        "e.png": {"box": [10, 8, 42, 32]},
    })
    assert main(["matte", str(folder.src), "--prompts", prompts, "-o", str(folder.out)]) == SOME_FAILED
    err = capsys.readouterr().err
    failed = {line.split(": ")[2]: line for line in err.splitlines() if "failed:" in line}
    assert "unknown field 'boxes'" in failed["a.png"] and "image 'a.png'" in failed["a.png"]
    assert "1 points but 2 labels" in failed["b.jpg"]
    assert "either 'text' or 'box'" in failed["c.png"]
    assert "'box' must be four numbers" in failed["d.png"]
    assert sorted(p.name for p in folder.out.glob("*.png")) == ["e_alpha.png", "e_cutout.png"]


def test_the_widget_prompts_file_given_alone_says_how_to_list_it(fake, folder, tmp_path, capsys):
    from mam_lib.widget.prompts import PROMPTS_FORMAT, ObjectPrompts

    export = tmp_path / "a_object_1_prompts.json"
    export.write_text(json.dumps({"format": PROMPTS_FORMAT, "version": 1,
                                  "image": {"name": "in/a.png", "width": 56, "height": 40},
                                  "objects": [ObjectPrompts("object 1", box=(10, 8, 42, 32)).to_dict()]}))
    assert main(["matte", str(folder.src), "--prompts", str(export), "-o", str(folder.out)]) == 2
    err = capsys.readouterr().err
    assert "widget's prompts file of one image" in err and '"a.png": "a_object_1_prompts.json"' in err


def test_existing_files_it_did_not_write_need_overwrite(fake, folder, capsys):
    folder.out.mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(folder.out / "a_alpha.png")  # someone else's file
    mine = (folder.out / "a_alpha.png").read_bytes()
    assert _run(folder) == 2
    err = capsys.readouterr().err
    assert "a_alpha.png" in err and "--overwrite" in err
    assert (folder.out / "a_alpha.png").read_bytes() == mine and not fake.built
    assert _run(folder, "--overwrite") == SOME_FAILED
    assert (folder.out / "a_alpha.png").read_bytes() != mine


def test_options_of_one_image_are_refused_with_a_folder_and_the_reverse(fake, folder, capsys):
    assert _run(folder, "--alpha-out", str(folder.root / "x.png")) == 2
    assert "--alpha-out names one file" in capsys.readouterr().err
    assert main(["matte", str(folder.src), "-o", str(folder.out)]) == 2
    assert "give the prompts of its images with --prompts" in capsys.readouterr().err
    assert main(["matte", str(folder.src / "a.png"), "--prompts", folder.prompts, "--box", "1", "1", "9", "9",
                 "-o", str(folder.root / "x.png")]) == 2
    assert "--prompts goes with a folder" in capsys.readouterr().err
    assert not folder.out.exists() and not fake.built


def test_a_command_line_prompt_covers_the_images_the_file_does_not_list(fake, folder, capsys):
    prompts = _prompts(folder.root / "p.json", {"a.png": {"box": [10, 8, 42, 32]}})
    (folder.src / "c.png").unlink()
    (folder.src / "d.png").unlink()
    assert main(["matte", str(folder.src), "--prompts", prompts, "--box", "1", "2", "30", "31",
                 "-o", str(folder.out), "--no-progress"]) == 0
    assert "3 done, 0 skipped (already done), 0 failed, 0 without a prompt" in capsys.readouterr().out
    assert [e[1] for e in fake.log if e[0] == "predict"] == [[10.0, 8.0, 42.0, 32.0], [1.0, 2.0, 30.0, 31.0],
                                                              [1.0, 2.0, 30.0, 31.0]]
    assert sorted(p.name for p in folder.out.glob("*_cutout.png")) == ["a_cutout.png", "b_cutout.png", "e_cutout.png"]


def test_a_second_run_on_the_same_output_folder_is_refused(fake, folder, capsys):
    from mam_lib.io.outputs import RunLock

    with RunLock(folder.out, "mam matte"):
        assert _run(folder) == 2
    assert "is using" in capsys.readouterr().err and not fake.built
    assert not list(folder.out.glob("*.png"))


def test_the_widget_export_is_matted_as_the_widget_mattes_it(tmp_path, capsys):
    """The widget's own export (several objects, a merge, its refinement settings) through the tiny random SAM."""
    from mam_lib.inference.predictor import MattingPredictor
    from mam_lib.widget.session import MattingSession

    src = tmp_path / "photos"
    src.mkdir()
    photo = _photo(src / "photo.png", (48, 64))
    session = MattingSession(MattingPredictor.from_pretrained("tiny"), RefinementConfig(guidance="mask", width_os1=4))
    session.set_image(str(photo), name="photo.png")
    session.set_box([12, 8, 44, 34])
    session.add_object()
    session.add_point(30, 20)
    merged = session.merge("object 1", "object 2")
    widget = tmp_path / "widget"
    paths = session.export(widget, "photo", name=merged)
    prompts = _prompts(tmp_path / "p.json", {"photo.png": "widget/photo_prompts.json"})
    out = tmp_path / "out"
    code = main(["matte", str(src), "--prompts", prompts, "-o", str(out), "--sam-variant", "tiny"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == sorted(f"photo_{o}_{k}.png" for o in ("object_1", "object_2", "object_1_and_object_2")
                           for k in ("alpha", "cutout"))
    # the same matte as the widget's, with the export's refinement settings
    np.testing.assert_array_equal(np.asarray(Image.open(out / "photo_object_1_and_object_2_alpha.png")),
                                  np.asarray(Image.open(paths["alpha"])))
    assert "1 done" in captured.out
    # the export of an image of another size is that image's failure
    _photo(src / "small.png", (20, 20))
    prompts = _prompts(tmp_path / "p.json", {"photo.png": "widget/photo_prompts.json",
                                            "small.png": "widget/photo_prompts.json"})
    assert main(["matte", str(src), "--prompts", prompts, "-o", str(out), "--sam-variant", "tiny"]) == SOME_FAILED
    captured = capsys.readouterr()
    assert "made on a 64×48 image; small.png is 20×20" in captured.err
    assert "0 done, 1 skipped (already done), 1 failed" in captured.out


def test_text_prompts_write_numbered_instances_and_resume(tmp_path, capsys):
    src = tmp_path / "photos"
    src.mkdir()
    _photo(src / "cat.png", (48, 64))
    prompts = _prompts(tmp_path / "p.json", {"cat.png": {"text": "the cat"}})
    out = tmp_path / "out"
    args = ["matte", str(src), "--prompts", prompts, "-o", str(out), "--sam-variant", "tiny", "--text-model", "tiny",
            "--box-threshold", "0", "--max-instances", "2"]
    code = main(args)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert sorted(p.name for p in out.glob("*.png")) == ["cat_1_alpha.png", "cat_1_cutout.png", "cat_2_alpha.png",
                                                         "cat_2_cutout.png"]
    assert "boxes are meaningless" in captured.err  # says plainly that the detector is random
    record = json.loads((out / ".mam_matte" / "cat.png.json").read_text())
    assert [o["instance"] for o in record["objects"]] == [1, 2] and record["objects"][0]["text"] == "the cat"
    files = _snapshot(out)
    assert main(args) == 0
    assert "0 done, 1 skipped (already done)" in capsys.readouterr().out
    assert all(_snapshot(out)[n] == c for n, c in files.items() if n != "matte_summary.json")
    # a text that finds nothing is that image's failure
    assert main([*args[:-4], "--box-threshold", "1", "--overwrite"]) == SOME_FAILED
    assert "no object matches 'the cat'" in capsys.readouterr().err


def test_no_fg_estimation_keeps_the_image_colours_in_both_modes(fake, tmp_path, capsys):
    from mam_lib.io.cutout import composite, rgba_cutout

    src = tmp_path / "in"
    src.mkdir()
    image = load_image(_photo(src / "a.png"))
    alpha = np.zeros(image.shape[:2], np.float32)
    alpha[1:-1, 1:-1] = 0.5  # the fake's matte of a point prompt: fractional everywhere inside
    prompts = _prompts(tmp_path / "p.json", {"a.png": {"points": [[20, 20]]}})
    out = tmp_path / "out"
    assert main(["matte", str(src), "--prompts", prompts, "-o", str(out), "--composite", "--background", "0,0,255"]) == 0
    estimated = np.asarray(Image.open(out / "a_cutout.png"))
    np.testing.assert_array_equal(estimated, rgba_cutout(image, alpha))  # the writers' foreground estimate
    assert (estimated[..., :3] != image).any()
    # the setting is part of what an image was done with: changing it does the image again
    assert main(["matte", str(src), "--prompts", prompts, "-o", str(out), "--composite", "--background", "0,0,255",
                 "--no-fg-estimation"]) == 0
    assert "1 done, 0 skipped" in capsys.readouterr().out
    np.testing.assert_array_equal(np.asarray(Image.open(out / "a_cutout.png"))[..., :3], image)
    np.testing.assert_array_equal(np.asarray(Image.open(out / "a_composite.png")),
                                  composite(image, alpha, (0, 0, 255), estimate_fg=False))
    # one image
    assert main(["matte", str(src / "a.png"), "--point", "20", "20", "-o", str(tmp_path / "cut.png"),
                 "--no-fg-estimation"]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "cut.png"))[..., :3], image)


def test_text_prompts_without_the_text_extra_are_refused_before_any_work(fake, folder, monkeypatch, capsys):
    import sys

    prompts = _prompts(folder.root / "p.json", {"a.png": {"text": "the cat"}, "e.png": {"box": [1, 1, 9, 9]}})
    monkeypatch.setitem(sys.modules, "transformers", None)
    assert main(["matte", str(folder.src), "--prompts", prompts, "-o", str(folder.out), "--text-model", "tiny"]) == 2
    err = capsys.readouterr().err
    assert "pip install -e '.[text]'" in err and len(err.strip().splitlines()) == 1, err
    assert not folder.out.exists() and not fake.built


def test_the_backend_reaches_the_predictor_and_is_part_of_each_record(fake, folder, capsys):
    assert _run(folder, "--backend", "exact") == SOME_FAILED
    assert fake.built_with[-1]["backend"] == "exact"
    record = json.loads((folder.out / ".mam_matte" / "a.png.json").read_text())
    assert record["key"]["settings"]["backend"] == "exact"
    capsys.readouterr()
    # another backend gives (slightly) other mattes: the done images are matted again, not skipped
    assert _run(folder, "--backend", "eager") == SOME_FAILED
    assert "2 done, 0 skipped" in capsys.readouterr().out
    # the default backend leaves the records as they were before the option existed
    assert _run(folder) == SOME_FAILED
    assert fake.built_with[-1]["backend"] == "fast"
    record = json.loads((folder.out / ".mam_matte" / "a.png.json").read_text())
    assert "backend" not in record["key"]["settings"]
