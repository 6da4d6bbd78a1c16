# attackmap — the two commands that matter: `make run` and `make test`.
CARGO ?= cargo
PYTHON ?= python3
OUT ?= out
VENV ?= .venv
CHECK_REQS := scripts/requirements-check.txt
CHECK_DIR := target/check-outputs
SHARED := ../shared
# Where ../shared is absent, a check says so and checks the fixtures only; under CI=true it fails: a
# broken checkout never looks green.
NO_SHARED_IN_CI = if [ "$$CI" = true ]; then echo "$(SHARED) is absent and CI=true: failing"; exit 1; fi
# The debug binary, built alone: a newcomer's first `make run` compiles only what it runs. The tests
# reuse that polars build (Cargo.toml pins the one feature a dev-dependency would change).
BIN := target/debug/attackmap

.PHONY: run docs-picture test lint unit check-docs check-outputs check-warehouse check-readers check-taxii check-report bench release clean bin

## run: build the sample in raw/ (offline) into out/
run: bin
	$(BIN) build --input raw --out $(OUT)

bin:
	$(CARGO) build --bin attackmap --quiet

## docs-picture: redraw the README's picture, the sample's NIST heatmap (a test checks it is current)
docs-picture: run
	cp $(OUT)/heatmaps/nist_800_53-rev5_attack-16.1-enterprise.svg docs/images/sample-heatmap.svg

## test: every test — formatting, clippy (warnings are errors), unit and end-to-end tests, the
## runnable blocks of README.md and docs/, the exports checked by the reference clients (stix2-validator,
## mitreattack-python), the warehouse feed read by a real engine (DuckDB), every Parquet output read by
## pandas, pyarrow, Polars and Spark, publish-taxii against a real TAXII 2.1 server (medallion), and
## report.html and the heatmaps, hostile text included, in headless Chromium
test: lint unit check-docs check-outputs check-warehouse check-readers check-taxii check-report

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

unit:
	$(CARGO) test --all-targets

## check-docs: every ```sh runnable block of README.md and docs/*.md, run with bash against a fresh
## copy of the sample in raw/ (attackmap on PATH), and every relative link pointing at a file that exists
check-docs: bin
	$(PYTHON) scripts/check_docs.py --bin $(BIN)

# The checker's virtualenv: built when missing, rebuilt when the pins change (the stamp is a copy of them).
$(VENV)/.requirements.stamp: $(CHECK_REQS)
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r $(CHECK_REQS)
	cp $(CHECK_REQS) $@

## check-outputs: build the fixtures (and the ../shared snapshot when present, whose data/attack/
## holds its ATT&CK bundles) and check every STIX bundle and Navigator layer with the reference clients
check-outputs: $(VENV)/.requirements.stamp bin
	rm -rf $(CHECK_DIR)
	$(BIN) build --input tests/fixtures/site tests/fixtures/traps tests/fixtures/mapping-files --out $(CHECK_DIR)/fixtures
	$(BIN) build --input tests/fixtures/hostile raw/data/attack --out $(CHECK_DIR)/hostile || [ $$? -eq 3 ]
	if [ -d $(SHARED)/site ]; then \
		$(BIN) build --input $(SHARED)/site --out $(CHECK_DIR)/site || [ $$? -eq 3 ]; \
		$(VENV)/bin/python scripts/check_outputs.py $(CHECK_DIR)/fixtures $(CHECK_DIR)/site; \
	else \
		echo "check-outputs: $(SHARED)/site is absent, checking the fixtures' exports only"; \
		$(NO_SHARED_IN_CI); \
		$(VENV)/bin/python scripts/check_outputs.py $(CHECK_DIR)/fixtures; \
	fi

## check-warehouse: DuckDB reads the warehouse written by check-outputs (row counts, documented types,
## partition pruning, the SQL of docs/warehouse.md), then replays three nightly refreshes and MERGEs the
## change feed (over the snapshot's mapping files, `*_attack-*.json`: its data/attack/ holds ATT&CK bundles)
check-warehouse: check-outputs
	if [ -d $(SHARED)/site ]; then \
		$(VENV)/bin/python scripts/check_warehouse.py $(CHECK_DIR)/site --expect-rows \
			--schema schemas/warehouse.schema.json --doc docs/warehouse.md --work target/check-warehouse \
			--bin $(BIN) --merge-from $$(find $(SHARED)/site/data -name '*_attack-*.json' | sort); \
		$(VENV)/bin/python scripts/check_warehouse.py $(CHECK_DIR)/fixtures \
			--schema schemas/warehouse.schema.json --doc docs/warehouse.md; \
	else \
		echo "check-warehouse: $(SHARED)/site is absent, checking the fixtures' warehouse only"; \
		$(NO_SHARED_IN_CI); \
		$(VENV)/bin/python scripts/check_warehouse.py $(CHECK_DIR)/fixtures \
			--schema schemas/warehouse.schema.json --doc docs/warehouse.md --work target/check-warehouse \
			--bin $(BIN) --merge-from tests/fixtures/mapping-files/*.json; \
	fi

## check-readers: pandas, pyarrow datasets, Polars and Spark (local mode) read the Parquet outputs
## written by check-outputs (row counts, a known value, partition pruning, the one-liners of
## docs/warehouse.md). Spark needs Java 17+: installed from Debian when missing; without apt-get,
## Spark is skipped (a failure under CI=true)
check-readers: check-outputs
	@command -v java >/dev/null || { \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			echo "check-readers: no java, installing default-jre-headless for Spark"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless; \
		else \
			echo "check-readers: no java, and no apt-get to install it as root: Spark is skipped"; \
		fi; }
	if [ -d $(SHARED)/site ]; then \
		$(VENV)/bin/python scripts/check_readers.py --doc docs/warehouse.md $(CHECK_DIR)/fixtures $(CHECK_DIR)/site; \
	else \
		echo "check-readers: $(SHARED)/site is absent, reading the fixtures' outputs only"; \
		$(NO_SHARED_IN_CI); \
		$(VENV)/bin/python scripts/check_readers.py --doc docs/warehouse.md $(CHECK_DIR)/fixtures; \
	fi

## check-report: report.html and heatmaps/*.svg written by check-outputs, checked against hostile upstream
## text: parsed (no script, no on* handler, no iframe/object/embed/base/form, links http(s) with
## rel=noopener noreferrer or to files present, a CSP forbidding scripts; SVGs without script,
## foreignObject or external href), then loaded in headless Chromium (no dialog, no console error, a title),
## report.html's screenshot in target/report-*.png. Chromium and chromedriver are installed from Debian when
## missing; without apt-get as root the browser step is skipped
check-report: check-outputs
	@{ command -v chromium >/dev/null || command -v google-chrome >/dev/null; } && command -v chromedriver >/dev/null || { \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			echo "check-report: no chromium or chromedriver, installing chromium and chromium-driver"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
		else \
			echo "check-report: no chromium or chromedriver, and no apt-get to install them as root: the browser step is skipped"; \
		fi; }
	rc=0; \
	$(VENV)/bin/python scripts/check_report.py $(CHECK_DIR)/fixtures --screenshot target/report-fixtures.png || rc=1; \
	$(VENV)/bin/python scripts/check_report.py $(CHECK_DIR)/hostile --screenshot target/report-hostile.png \
		--expect-text '<script>alert(1)</script>' --expect-text '"><img src=x onerror=alert(1)>' \
		--expect-text ']]>' --expect-text 'javascript:alert(1)' || rc=1; \
	$(VENV)/bin/python scripts/check_report.py $(CHECK_DIR)/hostile --expect-text-in-svg \
		--expect-text '<script>alert(1)</script>' --expect-text '"><img src=x onerror=alert(1)>' \
		--expect-text ']]>' || rc=1; \
	if [ -d $(SHARED)/site ]; then \
		$(VENV)/bin/python scripts/check_report.py $(CHECK_DIR)/site --screenshot target/report-site.png || rc=1; \
	else \
		echo "check-report: $(SHARED)/site is absent, checking the fixtures' report only"; \
		$(NO_SHARED_IN_CI); \
	fi; \
	exit $$rc

## check-taxii: publish-taxii against OASIS's reference TAXII 2.1 server, medallion (memory backend, started
## on a free 127.0.0.1 port, always stopped): two nightly refreshes of the fixtures published, only the new
## object versions posted, in several envelopes; read back with taxii2-client (objects, manifest, versions,
## every page); nothing posted when nothing changed; a wrong password refused (exit 1, 401)
check-taxii: $(VENV)/.requirements.stamp bin
	$(VENV)/bin/python scripts/check_taxii.py --bin $(BIN) --mapping-files tests/fixtures/mapping-files/*.json

## bench: release build, then the whole ../shared/site snapshot timed (wall, peak memory), the
## warehouse dataset written at 500x that size (7 million synthetic rows), the heatmaps and report.html,
## build and the nightly diff at 1x, 10x and 100x the mapping files (rows/s, peak memory), and a whole
## rendered site generated under target/bench-site/ (the snapshot with every capability page, under 1
## and 5 ATT&CK versions: 5 is the real site's shape)
bench: release
	$(PYTHON) scripts/bench.py target/release/attackmap 5
	$(PYTHON) scripts/bench_site.py target/release/attackmap
	$(CARGO) bench --bench warehouse
	$(CARGO) bench --bench pictures
	$(PYTHON) scripts/bench_scale.py target/release/attackmap 1 10 100

# --benches: the benchmark's build unifies dev-dependency features, as `cargo bench` does, so the
# bench reuses this build instead of compiling polars a second time.
release:
	$(CARGO) build --release --bins --benches

clean:
	$(CARGO) clean
	rm -rf $(OUT)/*.csv $(OUT)/*.parquet $(OUT)/*.json $(OUT)/stix $(OUT)/navigator $(OUT)/warehouse
