# Shortcuts for the commands in the README.
.PHONY: demo test lab benchmarks env

demo:        ## set up .venv and run the demo
	./quickstart.sh

test:        ## run the whole test suite
	./run_tests.sh

lab:         ## open the notebooks in JupyterLab
	bash scripts/setup_venv.sh && .venv/bin/jupyter lab notebooks/

env:         ## regenerate environment.yml from pyproject.toml
	.venv/bin/python scripts/sync_environment.py
