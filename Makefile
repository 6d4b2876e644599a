# Fairgate — `make demo` runs a real signed audit; `make test` runs the test suite.
# Both set themselves up in .venv from PyPI (pinned by constraints.txt) on a fresh machine.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := demo/work
OUT    := demo-out
# A development passphrase for the demo's development key, never for real keys.
DEMO_PASSPHRASE := fairgate-demo-only

.PHONY: install test test-fast demo lint docs clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

# The inner loop: everything but Spark, PDF rendering and subprocess tests (make test runs them all).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

# ruff, then mypy over audit/ as [tool.mypy] in pyproject.toml configures it (strict for judge, util, policy, flow).
lint: $(STAMP)
	$(BIN)/ruff check audit tests demo benchmarks scripts
	$(BIN)/ruff format --check audit tests demo benchmarks scripts
	$(BIN)/python -m mypy

# The generated docs pages (docs/cli.md, the error table of docs/troubleshooting.md); tests/project/test_docs.py checks them.
docs: $(STAMP)
	$(BIN)/python scripts/cli_docs.py --write
	$(BIN)/python scripts/troubleshooting_docs.py --write

# The model is trained once per checkout: skops names its array files after memory addresses, so
# every dump has a new sha256, and an audit is only reproducible against the same model file.
$(DEMO)/model.skops: $(STAMP) demo/prepare.py demo/data/adult-train.csv.gz demo/data/adult-holdout.csv.gz
	$(BIN)/python demo/prepare.py --out $(DEMO)

demo: $(DEMO)/model.skops
	@test -f $(DEMO)/dev-signer.p12 || FAIRGATE_KEY_PASSPHRASE=$(DEMO_PASSPHRASE) \
		$(BIN)/fairgate keygen --out $(DEMO)/dev-signer.p12 --name "Fairgate demo signer"
	@# Exit code 1 means the audit found a blocking fairness failure: that is a result, not an error.
	FAIRGATE_KEY_PASSPHRASE=$(DEMO_PASSPHRASE) $(BIN)/fairgate run \
		--data $(DEMO)/holdout.parquet --model $(DEMO)/model.skops --policy four-fifths \
		--label income --positive-label '>50K' --sensitive sex --sensitive race \
		--out $(OUT) --sign $(DEMO)/dev-signer.p12; rc=$$?; test $$rc -le 1
	$(BIN)/fairgate verify $(OUT)/report.pdf --trust $(DEMO)/dev-signer.cert.pem
	@echo ""
	@echo "Signed report: $(OUT)/report.pdf"
	@echo "Evidence:      $(OUT)/results.json"
	@echo "Verify it:     $(BIN)/fairgate verify $(OUT)/report.pdf --trust $(DEMO)/dev-signer.cert.pem"

clean:
	rm -rf $(VENV) $(DEMO) $(OUT) .pytest_cache
