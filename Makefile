# One-command set-up for a fresh machine. `make demo` runs the main job, `make test` the tests.
# Both create the virtual environment when it is missing and reinstall when pyproject.toml changes.

VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed
EXT_STAMP := $(VENV)/.cpp-ext-installed
# A real Open Inference Protocol server (MLServer) for the remote-backend tests, in its own venv
# because its pins clash with the project's.
SERVE_VENV ?= .venv-serve
SERVE_STAMP := $(SERVE_VENV)/.installed
# Pinned because these builds lie in the development machines' local package cache; any other
# torch is a multi-GB download. Override on other machines: make test TORCH_PINS="torch torchvision"
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1
PYTEST_ARGS ?=
# setuptools announces every editable install with a notice that asks nothing of the user;
# the filter matches that notice's text only (pip passes it on to the build backend).
EDITABLE_QUIET := PYTHONWARNINGS="ignore:Editable installation"

.PHONY: demo test install dev cpp-ext serve-venv lint clean

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install -q -U pip

$(RUNTIME_STAMP): $(PY) pyproject.toml
	$(EDITABLE_QUIET) $(PIP) install -q -e .
	touch $@

$(DEV_STAMP): $(RUNTIME_STAMP)
	$(PIP) install -q $(TORCH_PINS)
	$(EDITABLE_QUIET) $(PIP) install -q -e '.[train,dev]'
	# facenet-pytorch pins torch<2.3 and numpy<2: install it without its dependencies.
	$(PIP) install -q --no-deps facenet-pytorch==2.6.0
	touch $@

# The CUDA extension compiles wherever nvcc exists (it runs only where a GPU exists).
$(EXT_STAMP): $(DEV_STAMP) $(wildcard cpp_ext/*.toml cpp_ext/*.txt cpp_ext/src/* cpp_ext/src/*/*)
	@if [ -f cpp_ext/pyproject.toml ] && command -v nvcc >/dev/null 2>&1; then \
		$(PIP) install -q --no-build-isolation ./cpp_ext && touch $@; \
	else echo "skipping the CUDA extension (no nvcc or no cpp_ext/pyproject.toml)"; fi

$(SERVE_STAMP):
	python3 -m venv $(SERVE_VENV)
	$(SERVE_VENV)/bin/pip install -q mlserver==1.7.1 onnxruntime numpy
	touch $@

install: $(RUNTIME_STAMP)
dev: $(DEV_STAMP)
cpp-ext: $(EXT_STAMP)
serve-venv: $(SERVE_STAMP)

demo: $(RUNTIME_STAMP)
	$(VENV)/bin/deepscreen demo

test: $(DEV_STAMP) $(EXT_STAMP) $(SERVE_STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(PY) -m ruff check engine export train calibration tests bench deepscreen_cli scripts research

clean:
	rm -rf $(VENV) $(SERVE_VENV) build *.egg-info
