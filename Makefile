.PHONY: setup demo test lint bench
setup:
	bash scripts/setup.sh
demo: setup
	HF_HUB_OFFLINE=1 .venv/bin/packetflow-arena run scenarios/clinc150.yaml --out out/clinc150
test: setup
	.venv/bin/ruff check .
	.venv/bin/lint-imports
	HF_HUB_OFFLINE=1 .venv/bin/python -m pytest -q -p no:cacheprovider
lint: setup
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/lint-imports
bench: setup
	HF_HUB_OFFLINE=1 .venv/bin/packetflow-arena bench
