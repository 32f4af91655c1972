"""`mam matte-video` and `mam eval --temporal`: end to end with the tiny random models, and bad input."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mam_lib.cli import main
from mam_lib.data.video import ClipConfig, make_clip, write_clip
from mam_lib.io.video import open_frames, write_video


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("clip") / "clip"
    write_clip(out, make_clip(ClipConfig(size=(48, 64), frames=2, kinds=("hair",), seed=2)))
    return out


def test_matte_video_writes_sequences_and_videos_and_resumes(clip_dir, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["matte-video", str(clip_dir / "clip.mp4"), "--box", "10", "8", "50", "40", "--frame", "1", "-o", str(out),
            "--sam-variant", "tiny", "--quiet", "--background", "255,255,255"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "2 frames of 64x48" in text and "computed 2 frame(s)" in text and "time per stage:" in text
    for kind in ("alpha", "rgba", "composite"):
        assert sorted(p.name for p in (out / "obj1" / kind).iterdir()) == ["000000.png", "000001.png"]
    assert len(open_frames(out / "obj1" / "alpha.mp4")) == 2 and len(open_frames(out / "obj1" / "composite.mp4")) == 2
    run = json.loads((out / "run.json").read_text())
    assert run["prompts"] == {"obj1": [{"frame": 1, "box": [10.0, 8.0, 50.0, 40.0]}]}
    assert main(argv) == 0  # the same command again: nothing left to do
    assert "computed 0 frame(s) (0 object-frames), 2 already done" in capsys.readouterr().out
    other = argv[:3] + ["12"] + argv[4:]
    assert main(other) == 2  # another prompt: refused without --overwrite
    assert "other prompts" in capsys.readouterr().err
    # the alphas evaluate as frame folders, with the temporal metrics
    assert main(["eval", "--pred", str(out / "obj1" / "alpha"), "--gt", str(clip_dir / "alphas" / "obj1"),
                 "--temporal", "--csv", str(tmp_path / "m.csv"), "--no-progress"]) == 0
    table = capsys.readouterr().out
    assert "dtSSD(x1e2)" in table and "MESSDdt(x1e3)" in table
    rows = (tmp_path / "m.csv").read_text().splitlines()
    assert rows[0].endswith("dtssd,messddt,pixels") and rows[1].split(",")[-3:-1] == ["", ""]  # frame 0: no pair
    assert rows[2].split(",")[-3] != ""


def _one_line_error(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_bad_clips_give_one_line_errors(tmp_path, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    base = ["--box", "1", "1", "20", "20", "-o", str(tmp_path / "o"), "--sam-variant", "tiny", "--quiet"]
    _one_line_error(capsys, ["matte-video", str(bad)] + base, "could not be read as a video")
    _one_line_error(capsys, ["matte-video", str(tmp_path / "none.mp4")] + base, "does not exist")
    avi = tmp_path / "clip.avi"
    write_video(avi, np.zeros((2, 32, 32, 3), np.uint8), fps=25, codec="mpeg4")
    avi.write_bytes(avi.read_bytes().replace(b"FMP4", b"QQ9Z"))
    _one_line_error(capsys, ["matte-video", str(avi)] + base, "cannot decode")
    assert not (tmp_path / "o").exists()


def test_prompt_and_option_errors(clip_dir, tmp_path, capsys):
    clip = str(clip_dir / "clip.mp4")
    out = ["-o", str(tmp_path / "o"), "--sam-variant", "tiny", "--quiet"]
    _one_line_error(capsys, ["matte-video", clip] + out, "give a prompt")
    _one_line_error(capsys, ["matte-video", clip, "--box", "1", "1", "9", "9", "--smoothing", "1.5"] + out,
                    "smoothing must lie in [0, 1)")
    bad_json = tmp_path / "p.json"
    bad_json.write_text("{not json")
    _one_line_error(capsys, ["matte-video", clip, "--prompts", str(bad_json)] + out, "is not a JSON file")
    _one_line_error(capsys, ["matte-video", clip, "--box", "1", "1", "9", "9", "--frame", "5"] + out, "frames 0..1")
    _one_line_error(capsys, ["matte-video", clip, "--box", "1", "1", "9", "9", "--sam2-checkpoint",
                             str(tmp_path / "sam2.1_hiera_tiny.pt")] + out, "sam2")
