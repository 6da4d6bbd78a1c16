# attackmap — the two commands that matter: `make run` and `make test`.
CARGO ?= cargo
OUT ?= out

.PHONY: run test lint unit bench release clean

## run: build the sample in raw/ (offline) into out/
run:
	$(CARGO) run --quiet -- build --input raw --out $(OUT)

## test: every test, lint included (formatting, clippy with warnings as errors)
test: lint unit

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

unit:
	$(CARGO) test --all-targets

## bench: release build, then the whole ../shared/site snapshot timed (wall, peak memory)
bench: release
	python3 scripts/bench.py target/release/attackmap 5

release:
	$(CARGO) build --release

clean:
	$(CARGO) clean
	rm -rf $(OUT)/*.csv $(OUT)/*.parquet $(OUT)/*.json
