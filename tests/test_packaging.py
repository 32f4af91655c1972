"""environment.yml and pyproject.toml list the same dependencies; the torch pair is pinned."""
from __future__ import annotations

import sys

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _norm(req: str) -> str:
    return req.replace(" ", "").lower()


def test_environment_yml_matches_pyproject(repo_root):
    project = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]
    declared = set(map(_norm, project["dependencies"]))
    for extra in project.get("optional-dependencies", {}).values():
        declared |= set(map(_norm, extra))
    env = yaml.safe_load((repo_root / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    listed = {_norm(d) for d in pip_section if not d.startswith("-e")}
    assert listed == declared, f"only in pyproject: {declared - listed}; only in environment.yml: {listed - declared}"
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python == "python" + project["requires-python"]


def test_torch_pair_is_pinned_exactly(repo_root):
    deps = tomllib.loads((repo_root / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch==2.14.0" in deps and "torchvision==0.29.0" in deps


def test_installed_pair_imports_together():
    import torch
    import torchvision
    from segment_anything import sam_model_registry

    assert torch.__version__.startswith("2.14.0") and torchvision.__version__.startswith("0.29.0")
    assert "vit_b" in sam_model_registry
