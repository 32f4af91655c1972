"""Video in and out: reading frames from a clip or a folder, numbered frame files, encoding videos.

Reading uses **PyAV** (FFmpeg's libraries, bundled in its wheels), not OpenCV's ``VideoCapture``,
because a user must be told *why* a clip cannot be read: PyAV raises FFmpeg's own errors (not a
media file, truncated, no video stream, a codec this build cannot decode), where ``VideoCapture``
only answers ``False``, the same answer as at the end of a clip. PyAV also gives the frame rate as
an exact fraction, each frame's timestamp (so a frame can be found again after a seek, which the
backward pass of a propagation needs) and an H.264 encoder; OpenCV's wheel can write only MPEG-4
part 2, which several editors refuse.

* :func:`open_frames` gives a :class:`FrameSource` for a video file, a folder of numbered images
  (``frames/000000.png`` …) or an in-memory array ``(T,H,W,3)``; frames come out as ``(H,W,3)``
  uint8 RGB, indexed from 0, forwards or backwards (:meth:`FrameSource.iter_frames`).
* :class:`FrameSequence` is a folder of numbered frame files written one at a time, atomically
  (:mod:`mam_lib.io.atomic`): a run that is interrupted keeps every frame it finished, and a new run
  sees which ones exist (:meth:`FrameSequence.done`).
* :func:`write_video` encodes frames to a video file atomically (H.264 ``yuv420p``, or ``yuv444p`` for
  odd sizes, which 4:2:0 cannot hold); :func:`write_video_from_sequence` does it from a
  :class:`FrameSequence`.

Every problem with an input clip is an :class:`~mam_lib.errors.VideoReadError` naming the file, the
problem and what to do (usually: re-encode it with ``ffmpeg -i IN -c:v libx264 -pix_fmt yuv420p OUT.mp4``).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np

from ..errors import MissingExtraError, OutputError, VideoReadError
from .atomic import atomic_path
from .images import check_pixels, image_to_uint8, load_image

__all__ = [
    "VIDEO_EXTENSIONS",
    "FRAME_EXTENSIONS",
    "REENCODE_HINT",
    "VideoInfo",
    "FrameSource",
    "VideoFileFrames",
    "FolderFrames",
    "ArrayFrames",
    "open_frames",
    "FrameSequence",
    "write_video",
    "write_video_from_sequence",
    "read_alpha_sequence",
]

#: File extensions read as video clips (anything else that is a file is tried as a video too).
VIDEO_EXTENSIONS: tuple[str, ...] = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".gif")
#: Extensions of the frame files of a frame folder.
FRAME_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
#: What to do with a clip that cannot be decoded.
REENCODE_HINT = "re-encode it, e.g. `ffmpeg -i IN -c:v libx264 -pix_fmt yuv420p OUT.mp4`, or export its frames as PNG files"


def _require_av():
    try:
        import av
    except ImportError:  # pragma: no cover - av is a dependency
        raise MissingExtraError("reading and writing videos needs PyAV: pip install av") from None
    return av


@dataclass(frozen=True)
class VideoInfo:
    """What a frame source holds.

    Attributes:
        frames: number of frames ``T``.
        size: ``(H, W)`` in pixels.
        fps: frames per second (a float; 25.0 for a folder or an array unless given).
        codec: the video codec's name (``"h264"`` …), ``"images"`` for a folder, ``"array"`` in memory.
        source: the path, or ``"<array>"``.
    """

    frames: int
    size: tuple[int, int]
    fps: float
    codec: str
    source: str


class FrameSource:
    """Frames ``0 … T-1`` of a clip as ``(H,W,3)`` uint8 RGB. Subclasses: video file, folder, array."""

    info: VideoInfo

    def __len__(self) -> int:
        return self.info.frames

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)``."""
        return self.info.size

    @property
    def fps(self) -> float:
        return self.info.fps

    def frame(self, index: int) -> np.ndarray:
        """Frame ``index`` as ``(H,W,3)`` uint8 RGB (random access; sequential reading is cheaper)."""
        for _, f in self.iter_frames([index]):
            return f
        raise IndexError(index)  # pragma: no cover

    def iter_frames(self, indices: Iterable[int] | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(index, frame)`` for ``indices`` (default all, in order), in the order given.

        ``indices`` should be monotonic (ascending or descending) for efficient reading.
        """
        raise NotImplementedError

    def _check_indices(self, indices: Iterable[int] | None) -> list[int]:
        n = len(self)
        idx = list(range(n)) if indices is None else [int(i) for i in indices]
        bad = [i for i in idx if not 0 <= i < n]
        if bad:
            raise IndexError(f"frame {bad[0]} is outside the clip's frames 0..{n - 1}")
        return idx

    def close(self) -> None:
        """Release the file (a no-op for folders and arrays)."""

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class ArrayFrames(FrameSource):
    """Frames held in memory: ``frames`` ``(T,H,W,3)`` (or a list of ``(H,W,3)``), any dtype the image
    rules accept (:func:`mam_lib.io.images.image_to_uint8`)."""

    def __init__(self, frames: "np.ndarray | Sequence[np.ndarray]", fps: float = 25.0) -> None:
        if len(frames) == 0:
            raise VideoReadError("the clip has no frames")
        self._frames = [image_to_uint8(f, f"frame {i}") for i, f in enumerate(frames)]
        sizes = {f.shape[:2] for f in self._frames}
        if len(sizes) > 1:
            raise VideoReadError(f"the frames differ in size: {sorted(sizes)}; every frame of a clip must have one size")
        self.info = VideoInfo(len(self._frames), self._frames[0].shape[:2], float(fps), "array", "<array>")

    def iter_frames(self, indices=None):
        for i in self._check_indices(indices):
            yield i, self._frames[i]


def _natural_key(name: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name))


class FolderFrames(FrameSource):
    """A folder of frame images, ordered by name with numbers compared as numbers (``2.png`` before
    ``10.png``). Hidden files are ignored; every frame must have the size of the first."""

    def __init__(self, folder: "str | os.PathLike", fps: float = 25.0) -> None:
        self.folder = Path(folder)
        files = [p for p in self.folder.iterdir() if p.is_file() and not p.name.startswith(".")
                 and p.suffix.lower() in FRAME_EXTENSIONS]
        if not files:
            raise VideoReadError(f"the frame folder {str(folder)!r} holds no image files "
                                 f"({', '.join(FRAME_EXTENSIONS)}); give a video file or a folder of frames")
        self.files = sorted(files, key=lambda p: _natural_key(p.name))
        first = load_image(self.files[0])
        self.info = VideoInfo(len(self.files), first.shape[:2], float(fps), "images", str(folder))

    def iter_frames(self, indices=None):
        for i in self._check_indices(indices):
            frame = load_image(self.files[i])
            if frame.shape[:2] != self.size:
                raise VideoReadError(f"frame {str(self.files[i])!r} is {frame.shape[1]}×{frame.shape[0]} but the first "
                                     f"frame is {self.size[1]}×{self.size[0]}; every frame of a clip must have one size")
            yield i, frame


class VideoFileFrames(FrameSource):
    """A video file read with PyAV.

    Opening demuxes the file once (no decoding) to count its frames and list their timestamps;
    :meth:`iter_frames` then decodes forwards, seeking to the key frame before the first frame it
    needs, and reads a backward range in chunks of ``chunk`` frames (each chunk decoded forwards
    after a seek and yielded in reverse), so going backwards holds only one chunk in memory.
    """

    def __init__(self, path: "str | os.PathLike", chunk: int = 32) -> None:
        av = _require_av()
        self.path = Path(path)
        self.chunk = int(chunk)
        label = repr(str(path))
        if not self.path.exists():
            raise VideoReadError(f"the video {label} does not exist; check the path")
        if self.path.is_dir():
            raise VideoReadError(f"{label} is a folder; give a video file (or a folder of frame images)")
        if self.path.stat().st_size == 0:
            raise VideoReadError(f"the video {label} is empty (0 bytes); the file is damaged or was not written completely")
        try:
            container = av.open(str(self.path), mode="r")
        except av.error.FFmpegError as err:
            raise VideoReadError(f"{label} could not be read as a video ({_ffmpeg_reason(err)}): it is damaged or not a "
                                 f"video file; {REENCODE_HINT}") from None
        try:
            if not container.streams.video:
                raise VideoReadError(f"{label} holds no video stream (only audio or data); give a video file")
            stream = container.streams.video[0]
            codec = _codec_name(stream)
            if stream.codec_context is None or not _can_decode(av, stream):
                which = "a video codec" if codec == "unknown" else f"the video codec {codec!r}"
                raise VideoReadError(f"the video {label} uses {which} that this FFmpeg build cannot decode; "
                                     f"{REENCODE_HINT}")
            width, height = int(stream.codec_context.width), int(stream.codec_context.height)
            if width <= 0 or height <= 0:
                raise VideoReadError(f"the video {label} does not say its frame size (codec {codec!r}); {REENCODE_HINT}")
            check_pixels(width, height, f"the video {label}")
            try:
                pts = [p.pts for p in container.demux(stream) if p.size > 0]
            except av.error.FFmpegError as err:
                raise VideoReadError(f"the video {label} is damaged ({_ffmpeg_reason(err)}); {REENCODE_HINT}") from None
            rate = stream.average_rate or stream.guessed_rate or stream.base_rate
            fps = float(rate) if rate else 25.0
        except BaseException:
            container.close()
            raise
        container.close()
        self._seekable = bool(pts) and all(p is not None for p in pts) and len(set(pts)) == len(pts)
        if self._seekable:
            self._pts = sorted(pts)
            self._index_of = {p: i for i, p in enumerate(self._pts)}
        n = len(pts)
        if n == 0:
            raise VideoReadError(f"the video {label} holds no frames; {REENCODE_HINT}")
        self.info = VideoInfo(n, (height, width), fps, codec, str(path))
        self._container = None
        self._frames = None  # the decoding iterator of the open container
        self._next = 0  # index of the frame the iterator gives next (sequential reading)

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container, self._frames = None, None

    def _open(self) -> None:
        av = _require_av()
        self.close()
        self._container = av.open(str(self.path), mode="r")
        self._container.streams.video[0].thread_type = "AUTO"

    def _restart(self, start: int) -> None:
        """Position the decoder so that its next frame is ``start`` (decoding from the key frame before it)."""
        if start > 0 and self._seekable:
            if self._container is None:
                self._open()
            stream = self._container.streams.video[0]
            self._container.seek(self._pts[start], stream=stream, backward=True, any_frame=False)
            self._next = None  # known from the next frame's timestamp
        else:  # from the beginning: a fresh container (no seek needed, works for any file)
            self._open()
            self._next = 0
        self._frames = self._container.decode(self._container.streams.video[0])

    def _decode_next(self) -> tuple[int, np.ndarray]:
        av = _require_av()
        label = repr(str(self.path))
        try:
            frame = next(self._frames)
        except StopIteration:
            raise VideoReadError(f"the video {label} ended after {self._next} of the {len(self)} frames its index "
                                 f"lists: it is truncated or damaged; {REENCODE_HINT}") from None
        except av.error.FFmpegError as err:
            raise VideoReadError(f"the video {label} could not be decoded near frame {self._next} "
                                 f"({_ffmpeg_reason(err)}): it is damaged; {REENCODE_HINT}") from None
        if self._seekable and frame.pts in self._index_of:
            index = self._index_of[frame.pts]
        elif self._next is not None:
            index = self._next
        else:  # pragma: no cover - a frame without a listed timestamp after a seek
            raise VideoReadError(f"the video {label} has frames without timestamps after a seek; {REENCODE_HINT}")
        self._next = index + 1
        rgb = frame.to_ndarray(format="rgb24")
        if rgb.shape[:2] != self.size:
            raise VideoReadError(f"frame {index} of {label} is {rgb.shape[1]}×{rgb.shape[0]} but the clip is "
                                 f"{self.size[1]}×{self.size[0]}; clips that change size are not supported: {REENCODE_HINT}")
        return index, np.ascontiguousarray(rgb)

    def _forward(self, start: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
        """Frames ``start … stop-1`` in order."""
        if self._frames is None or self._next is None or not (self._next <= start <= self._next + self.chunk):
            self._restart(start)
        while True:
            index, rgb = self._decode_next()
            if index >= stop:
                return
            if index >= start:
                yield index, rgb
            if index + 1 >= stop:
                return

    def iter_frames(self, indices=None):
        idx = self._check_indices(indices)
        if not idx:
            return
        ascending = all(b > a for a, b in zip(idx, idx[1:]))
        if ascending:
            wanted = set(idx)
            for i, f in self._forward(idx[0], idx[-1] + 1):
                if i in wanted:
                    yield i, f
            return
        pos = 0
        while pos < len(idx):  # other orders (backwards): chunks of consecutive frames read forwards
            hi = idx[pos]
            group = [hi]
            while pos + len(group) < len(idx) and hi - idx[pos + len(group)] < self.chunk \
                    and idx[pos + len(group)] < group[-1]:
                group.append(idx[pos + len(group)])
            lo = min(group)
            frames = dict(self._forward(lo, max(group) + 1))
            for i in group:
                yield i, frames[i]
            pos += len(group)


def _codec_name(stream) -> str:
    try:
        return str(stream.codec_context.name) if stream.codec_context is not None else "unknown"
    except Exception:  # pragma: no cover
        return "unknown"


def _can_decode(av, stream) -> bool:
    try:
        codec = stream.codec_context.codec
        return codec is not None and bool(getattr(codec, "is_decoder", True))
    except Exception:
        return False


def _ffmpeg_reason(err: Exception) -> str:
    text = getattr(err, "strerror", None) or str(err)
    return str(text).split(": '", 1)[0].strip() or type(err).__name__


def open_frames(source: "str | os.PathLike | np.ndarray | Sequence[np.ndarray] | FrameSource",
                fps: float | None = None) -> FrameSource:
    """A :class:`FrameSource` for a video file, a folder of frame images, an array ``(T,H,W,3)`` or a
    list of frames; a :class:`FrameSource` is returned as it is. ``fps`` sets the rate of a folder or
    an array (default 25) and overrides a video's. Raises :class:`VideoReadError` with the reason and
    what to do for anything that cannot be read."""
    if isinstance(source, FrameSource):
        return source
    if isinstance(source, (str, os.PathLike)):
        p = Path(source).expanduser()
        if p.is_dir():
            return FolderFrames(p, fps or 25.0)
        if not p.exists():
            raise VideoReadError(f"the clip {str(source)!r} does not exist; give a video file or a folder of frames")
        clip = VideoFileFrames(p)
        if fps:
            clip.info = VideoInfo(clip.info.frames, clip.info.size, float(fps), clip.info.codec, clip.info.source)
        return clip
    return ArrayFrames(source, fps or 25.0)


# ---------------------------------------------------------------------------- numbered frame files


class FrameSequence:
    """A folder of numbered frame files ``<folder>/<index:06d><suffix>``, written one at a time.

    Each file is written atomically, so a file that exists is complete; :meth:`done` lists them, which
    is how an interrupted run knows where to resume. ``writer(path, array)`` writes one file (for PNG:
    :func:`mam_lib.io.cutout.save_alpha` and friends).
    """

    def __init__(self, folder: "str | os.PathLike", suffix: str = ".png", digits: int = 6) -> None:
        self.folder = Path(folder)
        self.suffix = suffix
        self.digits = int(digits)
        self._pattern = re.compile(rf"^(\d{{{self.digits}}}){re.escape(suffix)}$")

    def path(self, index: int) -> Path:
        """The file of frame ``index``."""
        return self.folder / f"{int(index):0{self.digits}d}{self.suffix}"

    def has(self, index: int) -> bool:
        return self.path(index).is_file()

    def done(self) -> list[int]:
        """Indices of the frames written, ascending."""
        if not self.folder.is_dir():
            return []
        return sorted(int(m.group(1)) for p in self.folder.iterdir() if (m := self._pattern.match(p.name)))

    def write(self, index: int, writer: Callable[[Path], object]) -> Path:
        """Write frame ``index`` with ``writer(path)`` (which must write atomically); returns the path."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(index)
        writer(path)
        return path

    def missing(self, frames: int) -> list[int]:
        """Which of the frames ``0 … frames-1`` are not written."""
        have = set(self.done())
        return [i for i in range(frames) if i not in have]


def read_alpha_sequence(folder: "str | os.PathLike", frames: int | None = None) -> np.ndarray:
    """The alpha files of a :class:`FrameSequence` folder as ``(T,H,W)`` float32 in [0,1] (8-bit ÷255,
    16-bit ÷65535). ``frames``: expect frames ``0 … frames-1`` (an :class:`VideoReadError` names the first
    missing one); default: the frames present, which must be numbered ``0 … T-1``."""
    from .images import matte_to_unit, read_matte

    seq = FrameSequence(folder)
    have = seq.done()
    n = len(have) if frames is None else int(frames)
    missing = [i for i in range(n) if i not in set(have)]
    if missing or n == 0:
        raise VideoReadError(f"the alpha sequence {str(folder)!r} lacks frame {missing[0] if missing else 0} "
                             f"({str(seq.path(missing[0] if missing else 0))!r}); finish the run that writes it")
    out = []
    for i in range(n):
        m = read_matte(seq.path(i))
        out.append(matte_to_unit(m[..., -1] if m.ndim == 3 else m, repr(str(seq.path(i)))))
    return np.stack(out)


# ---------------------------------------------------------------------------- encoding


def write_video(path: "str | os.PathLike", frames: Iterable[np.ndarray], fps: float, codec: str = "libx264",
                crf: int = 18, total: int | None = None) -> Path:
    """Encode ``frames`` (each ``(H,W,3)`` uint8 RGB or ``(H,W)`` uint8 grey) to ``path``, atomically.

    H.264 in ``yuv420p`` (what editors and browsers play) when width and height are even, else
    ``yuv444p``; ``crf`` is x264's quality (0 lossless, 18 visually lossless, 23 its default). Any
    other PyAV encoder name may be given as ``codec`` (e.g. ``"mpeg4"``, ``"ffv1"`` in ``.mkv``).
    Returns the path. An empty ``frames`` raises :class:`OutputError`.
    """
    av = _require_av()
    dest = Path(path)
    rate = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(25)
    written = 0
    with atomic_path(dest) as tmp:
        container = av.open(str(tmp), mode="w", format=_format_of(dest))
        try:
            stream = None
            for frame in frames:
                arr = np.asarray(frame)
                if arr.ndim == 2:
                    arr = np.repeat(arr[..., None], 3, axis=2)
                arr = np.ascontiguousarray(arr.astype(np.uint8, copy=False))
                if stream is None:
                    h, w = arr.shape[:2]
                    stream = container.add_stream(codec, rate=rate)
                    stream.width, stream.height = w, h
                    even = h % 2 == 0 and w % 2 == 0
                    if codec == "libx264":
                        stream.pix_fmt = "yuv420p" if even else "yuv444p"
                        stream.options = {"crf": str(int(crf))}
                    elif codec == "ffv1":
                        stream.pix_fmt = "bgr0"
                    else:
                        stream.pix_fmt = "yuv420p"
                vf = av.VideoFrame.from_ndarray(arr, format="rgb24")
                for packet in stream.encode(vf):
                    container.mux(packet)
                written += 1
            if stream is None:
                raise OutputError(f"no frames to write to {str(dest)!r}")
            for packet in stream.encode():
                container.mux(packet)
        finally:
            container.close()
    return dest


def _format_of(path: Path) -> str | None:
    return {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi",
            ".webm": "webm"}.get(path.suffix.lower())


def write_video_from_sequence(path: "str | os.PathLike", sequence: FrameSequence, frames: int, fps: float,
                              codec: str = "libx264", crf: int = 18) -> Path:
    """Encode frames ``0 … frames-1`` of ``sequence`` (images) to ``path``; raises :class:`OutputError`
    naming the first missing frame when the sequence is incomplete."""
    missing = sequence.missing(frames)
    if missing:
        raise OutputError(f"cannot write {str(path)!r}: frame {missing[0]} ({str(sequence.path(missing[0]))!r}) and "
                          f"{len(missing) - 1} other(s) are missing; finish the run first")
    return write_video(path, (load_image(sequence.path(i)) for i in range(frames)), fps, codec=codec, crf=crf,
                       total=frames)
