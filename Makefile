# The two commands of the README:
#   make run   builds everything and starts cartroom on SQLite under ./data
#   make test  runs every test (Rust unit, end-to-end, load smoke, browser)

.PHONY: run test web

WEB_SOURCES := $(shell find web-client/src web-client/index.html web-client/vite.config.ts web-client/tsconfig.json -type f 2>/dev/null)

run: web
	cargo run --release -p cartroom -- --data-dir ./data --web-dir web-client/dist

web: web-client/dist/index.html

web-client/node_modules/.package-lock.json: web-client/package-lock.json
	cd web-client && npm ci --no-audit --no-fund

web-client/dist/index.html: web-client/node_modules/.package-lock.json $(WEB_SOURCES)
	cd web-client && npm run build

test:
	scripts/test.sh
