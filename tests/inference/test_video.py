"""Matting through a clip: propagation, keyframes, several objects, resuming, SAM 2 wiring.

The propagation tests run the real tiny random SAM + M2M (``tiny_predictor``); the bookkeeping tests
(plans, files, resuming, settings) use ``StandIn``, a deterministic stand-in with the predictor's
interface that mattes the box it is given (fast, so that the runs take a fraction of a second).
"""
from __future__ import annotations

import types

import numpy as np
import pytest
import torch

from mam_lib.errors import MissingExtraError, OutputError, PromptError
from mam_lib.inference.video import Sam2Masks, VideoConfig, VideoMatting, box_of, grow_box
from mam_lib.io.images import read_matte

H, W = 48, 64


def _frames(n: int = 6, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, (n, H, W, 3), dtype=np.uint8)


class StandIn:
    """The predictor's interface: the alpha is 1 inside the given box shrunk by 2 px (0.5 on its
    border row), modulated by the image so that each frame's matte differs; records every call."""

    description = "stand-in predictor"
    refinement = "default"

    def __init__(self, empty_frames=()):
        self.calls, self.encoded, self.empty_frames, self.frame = [], [], set(empty_frames), None
        self.encode_ms = 1.0

    def set_image(self, image):
        self.image = np.asarray(image)
        self.frame = int(round(float(self.image[0, 0, 0])))  # the tests write the index into pixel (0, 0)
        self.encoded.append(self.frame)

    def predict(self, box=None, points=None, labels=None, mask_input=None, guidance=None, text=None, mask=None):
        self.calls.append(dict(frame=self.frame, box=None if box is None else np.asarray(box, np.float32),
                               points=points, mask_input=None if mask_input is None else np.asarray(mask_input),
                               text=text, mask=mask))
        alpha = np.zeros((H, W), np.float32)
        if mask is not None:
            alpha[np.asarray(mask, bool)] = 1.0
        elif self.frame not in self.empty_frames:
            b = np.asarray(box if box is not None else [10, 10, 30, 30], np.float32)
            if text is not None:
                b = np.array([5, 5, 25, 20], np.float32)
            x0, y0, x1, y1 = (int(round(v)) for v in b)
            alpha[y0 + 2:y1 - 2, x0 + 2:x1 - 2] = 0.9 + 0.1 * (self.image[y0 + 2:y1 - 2, x0 + 2:x1 - 2, 1] / 255.0)
        logits = torch.full((1, 256, 256), float(self.frame) + 0.123)  # tells which frame it came from
        return types.SimpleNamespace(alpha=alpha, box=None if box is None else np.asarray(box, np.float32),
                                     sam=types.SimpleNamespace(logits_lowres=logits),
                                     timings={"sam": 1.0, "m2m": 2.0, "refine": 0.5})


def _indexed(frames: np.ndarray) -> np.ndarray:
    out = frames.copy()
    for t in range(len(out)):
        out[t, 0, 0, :] = t
    return out


def test_plan_runs_forward_from_the_first_keyframe_then_backward():
    video = VideoMatting(StandIn())
    video.prompt(2, box=[10, 10, 30, 30])
    video.prompt(4, box=[12, 10, 32, 30])
    video.prompt(3, box=[5, 5, 20, 20], obj="second")
    steps = [(s.frame, s.obj, s.source, s.prev) for s in video.plan(6)]
    assert steps == [(2, "obj1", "keyframe", None), (3, "obj1", "forward", 2), (3, "second", "keyframe", None),
                     (4, "obj1", "keyframe", None), (4, "second", "forward", 3), (5, "obj1", "forward", 4),
                     (5, "second", "forward", 4), (2, "second", "backward", 3), (1, "obj1", "backward", 2),
                     (1, "second", "backward", 2), (0, "obj1", "backward", 1), (0, "second", "backward", 1)]
    with pytest.raises(PromptError, match="frames 0..2"):
        video.plan(3)


def test_propagation_passes_each_results_box_and_logits_to_the_next_frame(tiny_predictor, monkeypatch):
    """Real tiny SAM + M2M: every propagated frame's prompt is the neighbour's grown box and its logits."""
    calls = []
    real = tiny_predictor.predict

    def spy(**kw):
        result = real(**kw)
        calls.append((kw, result))
        return result

    monkeypatch.setattr(tiny_predictor, "predict", spy)
    video = VideoMatting(tiny_predictor, VideoConfig(box_margin=0.1))
    video.prompt(1, box=[8, 6, 50, 40])
    run = video.run(_frames(3), progress=False)
    order = [(r.frame, r.source) for r in run.results]
    assert order == [(1, "keyframe"), (2, "forward"), (0, "backward")]
    by_frame = {r.frame: r for r in run.results}
    assert calls[0][0].get("mask_input") is None and np.allclose(calls[0][0]["box"], [8, 6, 50, 40])
    for (kw, _), frame, prev in ((calls[1], 2, 1), (calls[2], 0, 1)):
        src = by_frame[prev]
        expected_logits = calls[0][1].sam.logits_lowres.numpy().astype(np.float16).astype(np.float32)
        assert torch.equal(torch.as_tensor(kw["mask_input"]).reshape(1, 256, 256),
                           torch.as_tensor(expected_logits).reshape(1, 256, 256))
        box = box_of(src.alpha, 0.5) if not src.lost else src.box
        assert np.allclose(kw["box"], grow_box(box, 0.1, (H, W)))
        assert by_frame[frame].prompt["mask_input"] is True
    assert run.alphas["obj1"].shape == (3, H, W)
    assert np.array_equal(run.alphas["obj1"][2], by_frame[2].alpha)


def test_mask_keyframe_goes_to_the_mask_path(tiny_predictor):
    """Real predictor: a mask prompt is matted through predict(mask=…), and the next frame starts from it."""
    mask = np.zeros((H, W), bool)
    mask[10:30, 12:40] = True
    video = VideoMatting(tiny_predictor)
    video.prompt(0, mask=mask)
    run = video.run(_frames(2), progress=False)
    first, second = run.results
    assert first.source == "keyframe" and first.prompt["mask"]["shape"] == [H, W]
    assert second.source == "forward" and second.prompt["mask_input"] is True


def test_a_keyframe_overrides_the_propagation():
    stand_in = StandIn()
    video = VideoMatting(stand_in)
    video.prompt(0, box=[10, 10, 40, 30])
    video.prompt(3, box=[20, 12, 50, 40])
    video.run(_indexed(_frames(5)), progress=False)
    by_frame = {c["frame"]: c for c in stand_in.calls}
    assert np.allclose(by_frame[3]["box"], [20, 12, 50, 40]) and by_frame[3]["mask_input"] is None
    assert by_frame[2]["mask_input"] is not None  # propagated from frame 1
    # frame 4 starts from frame 3's result: the box of its alpha, grown
    expected = grow_box(np.array([22, 14, 48, 38], np.float32), 0.1, (H, W))
    assert np.allclose(by_frame[4]["box"], expected)
    assert by_frame[4]["mask_input"][0, 0, 0] == pytest.approx(3.123, abs=1e-2)  # frame 3's logits


def test_several_objects_share_each_frames_encoding(tmp_path):
    stand_in = StandIn()
    video = VideoMatting(stand_in)
    video.prompt(0, box=[10, 10, 30, 30], obj="cat")
    video.prompt(0, box=[30, 20, 60, 45], obj="dog")
    run = video.run(_indexed(_frames(4)), tmp_path / "out", progress=False)
    assert stand_in.encoded == [0, 1, 2, 3]  # one encoding per frame for both objects
    assert len(run.computed) == 8
    for obj in ("cat", "dog"):
        for kind in ("alpha", "rgba", "composite"):
            assert sorted(p.name for p in (tmp_path / "out" / obj / kind).iterdir()) == [f"{t:06d}.png" for t in range(4)]
        assert (tmp_path / "out" / obj / "alpha.mp4").is_file() and (tmp_path / "out" / obj / "composite.mp4").is_file()
    rgba = read_matte(tmp_path / "out" / "dog" / "rgba" / "000002.png")
    assert rgba.max() > 200  # the cut-out carries the alpha


def _folder_files(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix in (".png", ".npz")}


def test_resume_after_interruption_writes_no_duplicate_or_missing_frame(tmp_path):
    frames = _indexed(_frames(7))

    def video_of(stand_in):
        v = VideoMatting(stand_in, VideoConfig(smoothing=0.3))
        v.prompt(3, box=[10, 8, 44, 36])
        return v

    whole = tmp_path / "whole"
    video_of(StandIn()).run(frames, whole, progress=False, videos=False)

    out = tmp_path / "interrupted"
    seen = []

    def stop_after_four(result):
        seen.append(result.frame)
        if len(seen) == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        video_of(StandIn()).run(frames, out, progress=False, callback=stop_after_four)
    assert seen == [3, 4, 5, 6]
    assert sorted(p.name for p in (out / "obj1" / "alpha").iterdir()) == [f"{t:06d}.png" for t in (3, 4, 5, 6)]
    assert not (out / "obj1" / "alpha.mp4").exists()
    # a crash between the images and the state of the next frame: its images exist, its state does not
    (out / "obj1" / "state" / "000006.npz").unlink()

    stand_in = StandIn()
    run = video_of(stand_in).run(frames, out, progress=False, videos=False)
    assert run.computed == [(6, "obj1"), (2, "obj1"), (1, "obj1"), (0, "obj1")]  # each missing frame once
    assert run.skipped == 3
    assert [c["frame"] for c in stand_in.calls] == [6, 2, 1, 0]
    for kind in ("alpha", "rgba", "composite", "state"):
        names = sorted(p.name for p in (out / "obj1" / kind).iterdir())
        assert [n.split(".")[0] for n in names] == [f"{t:06d}" for t in range(7)], kind
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]
    assert _folder_files(out) == _folder_files(whole), "the resumed run writes what an uninterrupted one writes"
    again = video_of(StandIn()).run(frames, out, progress=False)
    assert again.computed == [] and again.skipped == 7 and (out / "obj1" / "alpha.mp4").is_file()


def test_a_folder_with_other_settings_or_foreign_files_is_refused(tmp_path):
    frames = _indexed(_frames(3))
    video = VideoMatting(StandIn())
    video.prompt(0, box=[10, 8, 44, 36])
    out = tmp_path / "out"
    video.run(frames, out, progress=False, videos=False)
    other = VideoMatting(StandIn())
    other.prompt(0, box=[12, 8, 44, 36])
    with pytest.raises(OutputError, match="other prompts"):
        other.run(frames, out, progress=False)
    stand_in = StandIn()
    other.predictor = stand_in
    run = other.run(frames, out, progress=False, overwrite=True, videos=False)
    assert len(run.computed) == 3 and np.allclose(stand_in.calls[0]["box"], [12, 8, 44, 36])
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "edit.txt").write_text("mine")
    with pytest.raises(OutputError, match="no video matting run wrote"):
        video.run(frames, foreign, progress=False, overwrite=True)
    assert (foreign / "edit.txt").read_text() == "mine"


def test_a_lost_object_keeps_its_last_box_and_drops_mask_input():
    stand_in = StandIn(empty_frames={2})
    video = VideoMatting(stand_in)
    video.prompt(0, box=[10, 8, 44, 36])
    run = video.run(_indexed(_frames(4)), progress=False)
    by_frame = {r.frame: r for r in run.results}
    assert by_frame[2].lost and np.array_equal(by_frame[2].box, by_frame[1].box)
    assert by_frame[3].prompt["mask_input"] is False and not by_frame[3].lost


def test_smoothing_blends_the_previous_written_alpha_and_is_off_by_default():
    assert VideoConfig().smoothing == 0.0
    frames = _indexed(_frames(3))
    plain = VideoMatting(StandIn())
    plain.prompt(0, box=[10, 8, 44, 36])
    raw = plain.run(frames, progress=False)
    smooth = VideoMatting(StandIn(), VideoConfig(smoothing=0.5))
    smooth.prompt(0, box=[10, 8, 44, 36])
    sm = smooth.run(frames, progress=False)
    assert np.array_equal(sm.alphas["obj1"][0], raw.alphas["obj1"][0])  # a keyframe is never blended
    prev_u8 = np.clip(np.rint(sm.alphas["obj1"][0] * 255), 0, 255) / 255.0
    # frame 1's raw alpha under smoothing comes from the same box as without (the box of frame 0's matte)
    assert np.allclose(sm.alphas["obj1"][1], 0.5 * raw.alphas["obj1"][1] + 0.5 * prev_u8, atol=1e-6)


def test_text_and_point_keyframes_reach_the_predictor():
    stand_in = StandIn()
    video = VideoMatting(stand_in)
    video.prompt(0, text="the cat")
    video.prompt(2, points=[[20, 20]], labels=[1], box=[5, 5, 40, 40])
    video.run(_indexed(_frames(3)), progress=False)
    assert stand_in.calls[0]["text"] == "the cat"
    assert stand_in.calls[2]["points"] is not None and np.allclose(stand_in.calls[2]["box"], [5, 5, 40, 40])


def test_bad_prompts_are_refused():
    video = VideoMatting(StandIn())
    with pytest.raises(PromptError, match="give a prompt"):
        video.prompt(0)
    with pytest.raises(PromptError, match="not several kinds"):
        video.prompt(0, box=[1, 1, 5, 5], text="cat")
    with pytest.raises(PromptError, match="x1 > x0"):
        video.prompt(0, box=[5, 1, 1, 5])
    with pytest.raises(PromptError, match="empty"):
        video.prompt(0, mask=np.zeros((H, W), bool))
    with pytest.raises(PromptError, match="no object is prompted"):
        video.run(_frames(2), progress=False)


class FakeSam2:
    """A stand-in with SAM 2's video-predictor methods: it 'tracks' a square that moves 2 px a frame."""

    def __init__(self):
        self.added = []

    def init_state(self, video_path):
        import os

        return {"frames": sorted(os.listdir(video_path))}

    def add_new_points_or_box(self, inference_state, frame_idx, obj_id, points=None, labels=None, box=None):
        self.added.append((frame_idx, obj_id, None if box is None else list(box)))

    def add_new_mask(self, inference_state, frame_idx, obj_id, mask):
        self.added.append((frame_idx, obj_id, "mask"))

    def propagate_in_video(self, inference_state, reverse=False):
        n = len(inference_state["frames"])
        order = range(n - 1, -1, -1) if reverse else range(n)
        for f in order:
            logits = torch.full((1, 1, H, W), -1.0)
            logits[0, 0, 10:20, 10 + 2 * f:20 + 2 * f] = 1.0
            yield f, [1], logits


def test_sam2_wiring_feeds_its_masks_to_the_mask_path():
    """Wiring test: a stand-in for SAM 2's video predictor (no SAM 2 runs here); its masks must reach
    MattingPredictor.predict(mask=…) frame by frame."""
    fake, stand_in = FakeSam2(), StandIn()
    video = VideoMatting(stand_in, sam2=Sam2Masks(fake, "fake SAM 2"))
    video.prompt(1, box=[10, 10, 20, 20])
    run = video.run(_indexed(_frames(3)), progress=False)
    assert fake.added == [(1, 1, [10.0, 10.0, 20.0, 20.0])]
    assert all(r.source == "sam2" for r in run.results)
    for call in stand_in.calls:
        f = call["frame"]
        expected = np.zeros((H, W), bool)
        expected[10:20, 10 + 2 * f:20 + 2 * f] = True
        assert np.array_equal(call["mask"], expected) and call["box"] is None


def test_sam2_without_its_package_says_how_to_install_it(tmp_path):
    try:
        import sam2  # noqa: F401
    except ImportError:
        with pytest.raises(MissingExtraError, match="pip install sam2"):
            Sam2Masks.from_checkpoint(tmp_path / "sam2.1_hiera_tiny.pt")
    else:  # pragma: no cover - where sam2 is installed: the missing weights are named instead
        from mam_lib.errors import CheckpointError

        with pytest.raises(CheckpointError, match="does not exist"):
            Sam2Masks.from_checkpoint(tmp_path / "sam2.1_hiera_tiny.pt")
