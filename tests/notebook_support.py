"""Helpers the notebook tests share: the committed-clean checks and a headless papermill run."""
from __future__ import annotations

from pathlib import Path

import nbformat
import papermill


def outputs_text(nb) -> str:
    """All text an executed notebook printed (streams and plain-text results)."""
    parts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            text = out.get("text", "")
            parts.append("".join(text) if isinstance(text, list) else text)
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def output_kinds(nb) -> list[str]:
    """MIME types of every rich output (``image/png``, widget views, …)."""
    return [k for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) for k in o.get("data", {})]


def check_committed_clean(path: Path):
    """Assert the notebook has no outputs, one ``parameters`` cell first, and no code of its own;
    return that parameters cell."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "committed with outputs"
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and tagged[0] is code[0], "exactly one parameters cell, the first code cell"
    defs = [line for c in code for line in c.source.splitlines() if line.lstrip().startswith(("def ", "class "))]
    assert not defs, f"notebooks import library code instead of defining it: {defs}"
    return tagged[0]


def run_notebook(repo_root: Path, name: str, tmp_path: Path, parameters: dict):
    """Execute ``notebooks/<name>`` headless with ``parameters`` injected; return the executed notebook."""
    executed = tmp_path / f"executed_{name}"
    papermill.execute_notebook(str(repo_root / "notebooks" / name), str(executed), parameters=parameters,
                               kernel_name="python3", cwd=str(repo_root / "notebooks"), progress_bar=False)
    return nbformat.read(executed, as_version=4)
