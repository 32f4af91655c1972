"""``mam export-onnx``: writes both files, reports their sizes, and never overwrites unasked."""
from __future__ import annotations

from mam_lib.cli import main
from mam_lib.inference.onnx_export import M2M_INPUTS, SAM_DECODER_INPUTS, onnx_session


def test_export_onnx_writes_both_files_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "onnx"
    assert main(["export-onnx", "--out", str(out), "--sam-variant", "tiny"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 2 and all(line.startswith("wrote ") and line.endswith(" MB)") for line in printed)
    assert "m2m.onnx" in printed[0] and "sam_decoder.onnx" in printed[1]
    assert tuple(i.name for i in onnx_session(out / "m2m.onnx").get_inputs()) == M2M_INPUTS
    assert tuple(i.name for i in onnx_session(out / "sam_decoder.onnx").get_inputs()) == SAM_DECODER_INPUTS

    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert main(["export-onnx", "--out", str(out), "--sam-variant", "tiny"]) == 2
    err = capsys.readouterr().err
    assert "already exist" in err and "--overwrite" in err and "Traceback" not in err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
