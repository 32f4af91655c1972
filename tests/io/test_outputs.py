"""The output policy: never over an input, never over a file by surprise, no foreign folder deleted,
one run per folder, clear errors for paths that cannot be written, atomic writes cleaned up."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import pytest

from mam_lib.errors import OutputError
from mam_lib.io import outputs
from mam_lib.io.atomic import atomic_path, atomic_write_text, remove_temporaries
from mam_lib.io.outputs import (
    LOCK_NAME,
    RunLock,
    check_distinct,
    check_output,
    check_output_dir,
    mark_folder,
    remove_owned_tree,
    starts_with,
)


def test_an_output_never_replaces_an_input_even_through_a_link(tmp_path):
    photo = tmp_path / "p.png"
    photo.write_bytes(b"photo")
    with pytest.raises(OutputError, match="also an input"):
        check_output(photo, inputs=[photo], overwrite=True)
    link = tmp_path / "link.png"
    link.symlink_to(photo)
    with pytest.raises(OutputError, match="also an input"):
        check_output(link, inputs=[str(tmp_path / "sub" / ".." / "p.png")], overwrite=True)
    assert photo.read_bytes() == b"photo"


def test_existing_files_need_overwrite_unless_the_project_wrote_them(tmp_path):
    mine = tmp_path / "a.txt"
    mine.write_text("# written by us\n")
    theirs = tmp_path / "b.txt"
    theirs.write_text("precious")
    with pytest.raises(OutputError, match="already exists; pass --overwrite"):
        check_output(theirs)
    assert check_output(theirs, overwrite=True) == theirs
    assert check_output(mine, ours=starts_with("# written by us")) == mine
    with pytest.raises(OutputError, match="already exists"):
        check_output(theirs, ours=starts_with("# written by us"))
    assert check_output(tmp_path / "new.txt") == tmp_path / "new.txt"


def test_paths_that_cannot_be_written_are_named(tmp_path, monkeypatch):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is a folder"):
        check_output(tmp_path)
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_output(tmp_path / "file" / "out.png")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        check_output_dir(tmp_path / "file")
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(tmp_path) else real_access(p, mode))
    with pytest.raises(OutputError, match="not writable"):
        check_output(tmp_path / "new.png")
    with pytest.raises(OutputError, match="not writable"):
        check_output_dir(tmp_path)


def test_two_outputs_may_not_be_one_file(tmp_path):
    with pytest.raises(OutputError, match="same file"):
        check_distinct({"-o": tmp_path / "a.png", "--alpha-out": str(tmp_path / "." / "a.png")})
    check_distinct({"-o": tmp_path / "a.png", "--alpha-out": tmp_path / "b.png", "--composite-out": None})


def test_an_output_folder_may_not_be_or_lie_in_an_input_folder(tmp_path):
    gt = tmp_path / "s" / "alphas"
    gt.mkdir(parents=True)
    for path in (gt, gt / "sub"):
        with pytest.raises(OutputError, match="input folder"):
            check_output_dir(path, inputs=[gt])
    assert check_output_dir(tmp_path / "s" / "preds", inputs=[gt]) == tmp_path / "s" / "preds"


def test_only_marked_or_empty_folders_are_ever_deleted(tmp_path):
    theirs = tmp_path / "train"
    theirs.mkdir()
    (theirs / "0001.png").write_bytes(b"x")
    with pytest.raises(OutputError, match="left alone"):
        remove_owned_tree(theirs)
    assert (theirs / "0001.png").exists()
    mine = tmp_path / "cache"
    mine.mkdir()
    (mine / "features.npy").write_bytes(b"x")
    mark_folder(mine, "feature cache")
    with pytest.raises(OutputError):
        remove_owned_tree(mine, kind="synthetic data set")  # marked, but as something else
    remove_owned_tree(mine, kind="feature cache")
    assert not mine.exists()
    (tmp_path / "empty").mkdir()
    remove_owned_tree(tmp_path / "empty")
    assert not (tmp_path / "empty").exists()
    remove_owned_tree(tmp_path / "never")  # nothing there: nothing to do


def test_a_second_run_on_one_folder_is_refused_and_released_locks_are_free(tmp_path):
    first = RunLock(tmp_path / "run", "training run")
    with first:
        assert json.loads((tmp_path / "run" / LOCK_NAME).read_text())["pid"] == os.getpid()
        with pytest.raises(OutputError, match=f"another training run .*process {os.getpid()}"):
            RunLock(tmp_path / "run", "training run").acquire()
    assert not (tmp_path / "run" / LOCK_NAME).exists()
    with RunLock(tmp_path / "run"):
        pass


def test_a_lock_left_by_a_dead_process_is_taken_over(tmp_path):
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(proc.stdout)
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": dead, "host": outputs.socket.gethostname()}))
    with RunLock(tmp_path) as lock:
        assert lock.held and json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    # a lock of another machine cannot be judged: refused, with the file to delete named
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": dead, "host": "elsewhere"}))
    with pytest.raises(OutputError, match=f"delete .*{LOCK_NAME}"):
        RunLock(tmp_path).acquire()


def test_atomic_writes_give_clear_errors_and_leave_nothing_behind(tmp_path, monkeypatch):
    (tmp_path / "dir").mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        atomic_write_text(tmp_path / "dir", "x")
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        atomic_write_text(tmp_path / "file" / "out.txt", "x")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.setattr(os, "access", lambda p, mode: True)  # as on a read-only mount seen by root
    with pytest.raises(OutputError, match="Permission denied"):
        atomic_write_text(tmp_path / "new.txt", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir", "file"]


def test_temporaries_of_killed_writes_are_removed(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "step_0000002.pth") as tmp:
            tmp.write_bytes(b"half")
            left = tmp
            (tmp_path / ".step_0000002.pth.tmp-killed01.pth").write_bytes(b"left by a killed process")
            raise KeyboardInterrupt
    assert not left.exists()  # the writer's own temporary is removed on error
    (tmp_path / ".notes.txt.tmp-killed02.txt").write_bytes(b"x")
    (tmp_path / "keep.pth").write_bytes(b"x")
    removed = remove_temporaries(tmp_path, r"step_\d+\.pth")
    assert [p.name for p in removed] == [".step_0000002.pth.tmp-killed01.pth"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".notes.txt.tmp-killed02.txt", "keep.pth"]


def test_a_full_disk_is_named(tmp_path):
    import errno

    with pytest.raises(OutputError, match="No space left .*free some space"):
        with atomic_path(tmp_path / "big.bin") as tmp:
            tmp.write_bytes(b"x")
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
    assert list(tmp_path.iterdir()) == []
