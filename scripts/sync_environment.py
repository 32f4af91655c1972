"""Write environment.yml from pyproject.toml so the conda environment and the Python packaging
list the same dependencies (run after editing pyproject.toml; a test checks they agree)."""
from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def render() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    every = list(project["dependencies"]) + [d for extra in project.get("optional-dependencies", {}).values() for d in extra]
    deps = list(dict.fromkeys(every))  # an extra may repeat another's packages (test includes onnx)
    lines = [
        "# Conda environment for the Matting Anything workbench.",
        "# Generated from pyproject.toml by scripts/sync_environment.py; tests/test_packaging.py checks they agree.",
        "# torch and torchvision come from PyPI as a pinned pair (conda's builds are not matched to segment-anything here).",
        "name: mam",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - python{project['requires-python']}",
        "  - pip",
        "  - pip:",
    ]
    lines += [f"      - \"{d}\"" for d in deps]
    lines += ["      - \"-e .\""]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    (ROOT / "environment.yml").write_text(render())
    print("wrote environment.yml")
