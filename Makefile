# sdedit's commands for people (the README's two, and install); plain `swift build` / `swift test`
# work as well once the system packages are there.
#   make demo      install missing system packages, build, inpaint the bundled demo picture with the
#                  bundled tiny model (random weights: it paints coloured noise) into demo-out.png
#   make test      install missing system packages, then the full test run CI runs (.ci/run):
#                  swift test, the parity tests on the SSE2 fallback kernels, the fuzz targets
#   make build     release build with the Swift runtime linked in (--static-swift-stdlib)
#   make install   install that binary and the man page under PREFIX (default /usr/local);
#                  as root (sudo make install) it installs what `make build` built
PREFIX ?= /usr/local
DESTDIR ?=
SWIFT ?= swift
CONFIG ?= release
BIN := .build/release/sdedit

.PHONY: demo test deps commit build install

deps:
	@scripts/install_deps.sh

commit:
	@scripts/build_commit.sh

demo: deps commit
	$(SWIFT) run -c $(CONFIG) sdedit inpaint demo/photo.png demo/mask.png "a red brick wall" \
	    --model fixtures/models/tiny-sd2-inpainting --seed 42 -o demo-out.png

test: deps commit
	scripts/run_tests.sh

build: deps commit
	$(SWIFT) build -c release --static-swift-stdlib --product sdedit

install:
	@if [ "$$(id -u)" != 0 ] || [ ! -x $(BIN) ]; then $(MAKE) --no-print-directory build; fi
	@if ldd $(BIN) | grep -q libswiftCore; then \
	    echo "$(BIN) needs the Swift toolchain's libswiftCore.so: run 'make build' first" >&2; exit 1; fi
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/sdedit
	install -m 644 man/sdedit.1 $(DESTDIR)$(PREFIX)/share/man/man1/sdedit.1
