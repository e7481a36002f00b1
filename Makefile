.PHONY: setup demo test lab lint bench
setup:
	bash scripts/setup.sh
demo: setup
	HF_HUB_OFFLINE=1 .venv/bin/packetflow-arena run scenarios/clinc150.yaml --out out/clinc150
test: setup
	.venv/bin/ruff check .
	.venv/bin/lint-imports
	.venv/bin/mypy
	HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -q -p no:cacheprovider
# JupyterLab over notebooks/, on 127.0.0.1 only, with a token (printed in the URL it shows)
lab: setup
	HF_HUB_OFFLINE=1 .venv/bin/python -m jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=notebooks \
		$(if $(filter 0,$(shell id -u)),--allow-root,)
lint: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/lint-imports
# the bench extra adds LangGraph, the baseline of the workflow benchmark
bench:
	bash scripts/setup.sh test,bench
	HF_HUB_OFFLINE=1 .venv/bin/packetflow-arena bench
