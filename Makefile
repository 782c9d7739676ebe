# Thin wrappers over the CMake presets. `make demo` and `make test` do all set-up on a fresh
# Debian 12 machine (as root): they install missing packages, configure, build and run.
JOBS ?= $(shell nproc)

.PHONY: setup demo test build cuda asan tsan clean

setup:
	@bash scripts/setup-debian.sh

build: setup
	cmake --preset host
	cmake --build --preset host -j $(JOBS)

demo: build
	./build/host/bin/belady-demo $(ARGS)

test: build
	ctest --preset host -j $(JOBS)

cuda: setup
	cmake --preset cuda
	cmake --build --preset cuda -j $(JOBS)

asan: setup
	cmake --preset asan
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS)

tsan: setup
	cmake --preset tsan
	cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan -j $(JOBS)

clean:
	rm -rf build
