"""Reading clips (PyAV), frame folders, numbered frame files and encoding: mam_lib.io.video."""
from __future__ import annotations

import numpy as np
import pytest

from mam_lib.errors import ImageReadError, OutputError, VideoReadError
from mam_lib.io.cutout import save_alpha
from mam_lib.io.video import FrameSequence, open_frames, write_video, write_video_from_sequence

T, H, W = 40, 32, 48


def _ramp() -> np.ndarray:
    """40 frames whose grey level encodes their index (6 levels apart: survives H.264 at crf 0)."""
    frames = np.zeros((T, H, W, 3), np.uint8)
    for t in range(T):
        frames[t] = t * 6
    return frames


def _index(frame: np.ndarray) -> int:
    return int(round(float(frame.mean()) / 6))


@pytest.fixture(scope="module")
def clip_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("clips") / "ramp.mp4"
    write_video(path, _ramp(), fps=25, crf=0)
    return path


def test_reads_every_frame_in_order_with_size_rate_and_codec(clip_path):
    clip = open_frames(clip_path)
    assert (clip.info.frames, clip.info.size, clip.info.fps, clip.info.codec) == (T, (H, W), 25.0, "h264")
    got = list(clip.iter_frames())
    assert [i for i, _ in got] == list(range(T))
    assert [_index(f) for _, f in got] == list(range(T))
    assert got[0][1].dtype == np.uint8 and got[0][1].shape == (H, W, 3)


def test_backward_reading_and_random_access_give_the_right_frames(clip_path):
    clip = open_frames(clip_path)
    back = list(clip.iter_frames(range(T - 1, -1, -1)))  # in chunks of 32, each decoded after a seek
    assert [i for i, _ in back] == list(range(T - 1, -1, -1))
    assert [_index(f) for _, f in back] == list(range(T - 1, -1, -1))
    assert _index(clip.frame(33)) == 33 and _index(clip.frame(2)) == 2
    with pytest.raises(IndexError, match="outside the clip"):
        clip.frame(T)


def test_frame_folder_in_natural_order_and_size_check(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for t in (0, 1, 2, 10):  # 10.png must come after 2.png
        save_alpha(folder / f"{t}.png", np.full((H, W), t * 6 / 255, np.float32))
    clip = open_frames(folder)
    assert [_index(f) for _, f in clip.iter_frames()] == [0, 1, 2, 10]
    save_alpha(folder / "11.png", np.zeros((H + 2, W), np.float32))
    with pytest.raises(ImageReadError, match="every frame of a clip must have one size"):
        list(open_frames(folder).iter_frames())


def test_bad_video_files_get_clear_errors(tmp_path, clip_path):
    data = clip_path.read_bytes()
    cases = {
        "text.mp4": (b"this is not a video", "could not be read as a video"),
        "empty.mp4": (b"", "is empty"),
        "truncated.mp4": (data[: len(data) // 2], "could not be read as a video"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(VideoReadError, match=message) as info:
            open_frames(tmp_path / name)
        assert "ffmpeg -i" in str(info.value) or "empty" in str(info.value)  # says what to do
    with pytest.raises(ImageReadError, match="does not exist"):
        open_frames(tmp_path / "missing.mp4")
    (tmp_path / "empty_folder").mkdir()
    with pytest.raises(ImageReadError, match="holds no image files"):
        open_frames(tmp_path / "empty_folder")


def test_unreadable_codec_is_named_as_such(tmp_path):
    """An AVI whose codec tag FFmpeg does not know: the error says the codec cannot be decoded."""
    path = tmp_path / "clip.avi"
    write_video(path, np.zeros((3, H, W, 3), np.uint8), fps=25, codec="mpeg4")
    data = path.read_bytes()
    assert b"FMP4" in data
    path.write_bytes(data.replace(b"FMP4", b"QQ9Z"))
    with pytest.raises(VideoReadError, match="codec that this FFmpeg build cannot decode") as info:
        open_frames(path)
    assert "re-encode" in str(info.value)


def test_frame_sequence_lists_what_is_written_and_video_needs_all(tmp_path):
    seq = FrameSequence(tmp_path / "alpha")
    for t in (0, 1, 3):
        seq.write(t, lambda p, t=t: save_alpha(p, np.full((H, W), t / 10, np.float32)))
    assert seq.done() == [0, 1, 3] and seq.missing(4) == [2]
    assert seq.path(3).name == "000003.png"
    with pytest.raises(OutputError, match="frame 2"):
        write_video_from_sequence(tmp_path / "alpha.mp4", seq, 4, fps=25)
    assert not (tmp_path / "alpha.mp4").exists()
    seq.write(2, lambda p: save_alpha(p, np.full((H, W), 0.2, np.float32)))
    out = write_video_from_sequence(tmp_path / "alpha.mp4", seq, 4, fps=25)
    assert len(open_frames(out)) == 4


def test_odd_sizes_are_encoded_too(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (3, 31, 45, 3), dtype=np.uint8)
    out = write_video(tmp_path / "odd.mp4", frames, fps=10)
    clip = open_frames(out)
    assert clip.size == (31, 45) and len(clip) == 3


def test_read_alpha_sequence_reads_every_frame_and_names_a_missing_one(tmp_path):
    from mam_lib.io.video import read_alpha_sequence

    seq = FrameSequence(tmp_path / "alpha")
    for t in range(3):
        seq.write(t, lambda p, t=t: save_alpha(p, np.full((H, W), t / 4, np.float32)))
    alphas = read_alpha_sequence(seq.folder)
    assert alphas.shape == (3, H, W) and alphas.dtype == np.float32
    assert np.allclose(alphas[:, 0, 0], [0, 64 / 255, 128 / 255])
    with pytest.raises(ImageReadError, match="lacks frame 3"):
        read_alpha_sequence(seq.folder, frames=5)
