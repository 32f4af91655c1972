"""Procedural clips with a known alpha and `mam synth --video`: mam_lib.data.video."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mam_lib.data.video import ClipConfig, make_clip, write_clip
from mam_lib.errors import ConfigError, OutputError
from mam_lib.evaluation.temporal import _warp
from mam_lib.io.images import read_matte
from mam_lib.io.video import open_frames

SMALL = ClipConfig(size=(60, 80), frames=6, kinds=("hair", "glass"), seed=3)


@pytest.fixture(scope="module")
def clip():
    return make_clip(SMALL)


def test_clip_has_frames_alphas_and_boxes_of_the_right_shapes(clip):
    assert clip.frames.shape == (6, 60, 80, 3) and clip.frames.dtype == np.uint8
    assert clip.objects == ["obj1", "obj2"]
    for name in clip.objects:
        a = clip.alphas[name]
        assert a.shape == (6, 60, 80) and a.dtype == np.float32 and 0 <= a.min() and a.max() <= 1
        assert ((a > 0) & (a < 1)).any(), "hair and glass give fractional alpha"
        assert clip.boxes[name].shape == (6, 4)


def test_objects_move_deform_and_the_background_pans(clip):
    a = clip.alphas["obj1"]
    assert not np.allclose(a[0], a[-1]), "the object moves"
    assert not np.array_equal(clip.boxes["obj1"][0], clip.boxes["obj1"][-1])
    still = make_clip(ClipConfig(size=(60, 80), frames=3, kinds=("hair",), motion=0, deform=0, seed=3))
    assert np.array_equal(still.alphas["obj1"][0], still.alphas["obj1"][2]), "no motion, no deformation: a still object"
    assert not np.array_equal(still.frames[0], still.frames[2]), "the background still pans"


def test_clip_is_reproducible_and_the_frames_are_the_composite(clip):
    again = make_clip(SMALL)
    assert np.array_equal(again.frames, clip.frames) and np.array_equal(again.alphas["obj2"], clip.alphas["obj2"])
    # where no object is, the frame is the background: the frame changes only through the alpha elsewhere
    both = clip.alphas["obj1"] + clip.alphas["obj2"]
    assert both.max() <= 1.0 + 1e-5, "visible alphas of stacked objects add up to at most 1"


def test_motion_field_follows_the_rigid_path():
    c = make_clip(ClipConfig(size=(96, 128), frames=4, kinds=("fur",), deform=0, pan=0, seed=1))
    a = c.alphas["obj1"].astype(np.float64)
    warped = _warp(a[2], c.motion("obj1", 3))
    assert np.abs(warped - a[3]).mean() < 0.5 * np.abs(a[2] - a[3]).mean()
    assert not c.motion("obj1", 0).any()


def test_write_clip_layout_and_overwrite_rules(tmp_path, clip):
    out = tmp_path / "clip"
    write_clip(out, clip)
    assert sorted(p.name for p in (out / "frames").iterdir()) == [f"{t:06d}.png" for t in range(6)]
    assert np.array_equal(read_matte(out / "alphas" / "obj2" / "000004.png"),
                          np.rint(clip.alphas["obj2"][4] * 255).astype(np.uint8))
    assert len(open_frames(out / "clip.mp4")) == 6
    boxes = json.loads((out / "boxes.json").read_text())
    assert set(boxes) == {"obj1", "obj2"} and len(boxes["obj1"]) == 6
    with pytest.raises(OutputError, match="already holds a procedural clip"):
        write_clip(out, clip)
    write_clip(out, make_clip(ClipConfig(size=(60, 80), frames=3, kinds=("hair", "glass"))), overwrite=True)
    assert len(list((out / "frames").iterdir())) == 3, "frames of the longer clip do not stay behind"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    with pytest.raises(OutputError, match="did not write"):
        write_clip(mine, clip, overwrite=True)
    assert (mine / "notes.txt").read_text() == "keep"


def test_bad_settings_raise():
    with pytest.raises(ConfigError, match="unknown object kind"):
        make_clip(ClipConfig(kinds=("multi",)))
    with pytest.raises(ConfigError, match="at least 1 frame"):
        make_clip(ClipConfig(frames=0))


def test_mam_synth_video(tmp_path):
    from mam_lib.cli import main

    out = tmp_path / "clip"
    assert main(["synth", "--video", str(out), "--frames", "3", "--frame-size", "64x48", "--kinds", "fur",
                 "--quiet"]) == 0
    assert len(open_frames(out / "clip.mp4")) == 3 and (out / "alphas" / "obj1" / "000002.png").is_file()
    assert main(["synth", "--video", str(out), "--frames", "3", "--frame-size", "64x48", "--quiet"]) == 2
    assert main(["synth", "--video", str(tmp_path / "x"), "--frame-size", "big", "--quiet"]) == 2
