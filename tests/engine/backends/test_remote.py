"""Remote backend over the Open Inference Protocol, against real servers on 127.0.0.1.

The protocol server is MLServer (KServe v2) serving our ONNX model from its own virtual
environment (.venv-serve, installed by `make serve-venv`); the test skips, saying so, when it
is absent. Down and stuck servers are real sockets: a closed port and a listener that never
answers.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from engine.backends import load_backend
from engine.errors import BackendUnavailable
from tests.engine.backends.tiny_classifier import TINY_CONTRACT

pytest.importorskip("tritonclient.http")

REPO = Path(__file__).resolve().parents[3]
MLSERVER = Path(os.environ.get("DEEPSCREEN_MLSERVER", REPO / ".venv-serve" / "bin" / "mlserver"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tiny_onnx: Path, tmp_path_factory):
    if not MLSERVER.is_file():
        pytest.skip(f"MLServer not installed at {MLSERVER} (make serve-venv)")
    from export.serve import write_mlserver_folder

    http, grpc = _free_port(), _free_port()
    folder = write_mlserver_folder(tmp_path_factory.mktemp("mlserver"), tiny_onnx, TINY_CONTRACT,
                                   http, grpc)
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen([str(MLSERVER), "start", str(folder)], cwd=folder, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"127.0.0.1:{http}"
    deadline = time.monotonic() + 90
    import tritonclient.http as httpclient

    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"MLServer exited: {(folder / 'server.log').read_text()[-2000:]}")
            try:
                client = httpclient.InferenceServerClient(url, connection_timeout=1,
                                                          network_timeout=1)
                if client.is_model_ready("deepscreen"):
                    break
            except Exception:
                pass
            if time.monotonic() > deadline:
                pytest.fail("MLServer did not become ready in 90 s")
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_remote_equals_local(server: str, tiny_onnx: Path, hopper_batch) -> None:
    crops, spectrum = hopper_batch
    local = load_backend("ort", tiny_onnx).predict(crops, spectrum)
    remote = load_backend("remote", None, url=server, max_batch=4)
    # MLServer does not list Triton's binary tensor extension: the client falls back to JSON.
    assert remote.binary is False
    assert remote.contract.input_size == TINY_CONTRACT.input_size
    assert remote.contract.spectrum_bins == TINY_CONTRACT.spectrum_bins
    got = remote.predict(crops, spectrum)  # 9 crops in batches of 4: three requests
    np.testing.assert_allclose(got, local, atol=1e-6)
    # With the local model given, the full contract (threshold too) comes from it.
    assert load_backend("remote", tiny_onnx, url=server).contract == TINY_CONTRACT


def test_down_server_fails_fast_with_retries() -> None:
    port = _free_port()  # nothing listens here
    t0 = time.monotonic()
    with pytest.raises(BackendUnavailable, match=r"after 3 attempt\(s\)"):
        load_backend("remote", None, url=f"127.0.0.1:{port}", timeout_s=1, retries=2,
                     backoff_s=0.05)
    assert time.monotonic() - t0 < 10


def test_stuck_server_times_out_instead_of_hanging() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_ignore() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])  # read nothing, answer nothing
            except OSError:
                continue

    thread = threading.Thread(target=accept_and_ignore, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    t0 = time.monotonic()
    try:
        with pytest.raises(BackendUnavailable, match="timeout 1 s"):
            load_backend("remote", None, url=f"127.0.0.1:{port}", timeout_s=1, retries=1,
                         backoff_s=0.05)
        assert time.monotonic() - t0 < 15
        assert accepted, "the client never reached the stuck server"
    finally:
        stop.set()
        thread.join()
        listener.close()
        for conn in accepted:
            conn.close()


def test_verify_includes_the_remote_server(server: str, tiny_onnx: Path) -> None:
    from deepscreen_cli.verify_cmd import run_verify
    from tests.conftest import shared_path

    faces = shared_path("faces", "ffhq-vs-stylegan1")
    result = run_verify([faces], tiny_onnx, samples=16, url=server, include_gpu=False,
                        detect=False)
    rows = {r.backend: r for r in result.rows}
    assert rows["remote"].passed and rows["remote"].max_abs_diff <= 1e-6
    assert result.ok


def _screen_events(tmp_path: Path, folder: Path, model: Path, *backend_args: str) -> list[dict]:
    import json
    import sys

    events = tmp_path / f"events-{len(backend_args)}.jsonl"
    out = subprocess.run(
        [sys.executable, "-m", "deepscreen_cli.app", "screen", str(folder), "--model", str(model),
         "--min-frames", "2", "--events", str(events), *backend_args],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode in (0, 3, 4), out.stderr[-2000:]
    return [json.loads(line) for line in events.read_text().splitlines()]


def test_screen_with_the_remote_backend_matches_local(
    server: str, tiny_onnx: Path, tmp_path: Path
) -> None:
    """`deepscreen screen --backend remote` decides exactly what the local backend decides."""
    import shutil

    folder = tmp_path / "frames"
    folder.mkdir()
    portrait = REPO / "engine" / "assets" / "grace_hopper_512x512.jpg"
    # Enough frames for the track to be confirmed (consecutive detector hits) and to vote.
    for i in range(12):
        shutil.copy(portrait, folder / f"{i:02d}.jpg")
    local = _screen_events(tmp_path, folder, tiny_onnx, "--backend", "ort")
    remote = _screen_events(
        tmp_path, folder, tiny_onnx, "--backend", "remote", "--backend-url", server
    )
    assert local, "the local run decided nothing"
    assert any(e["track"] is None and e["verdict"] != "uncertain" for e in local), local
    assert [e["verdict"] for e in remote] == [e["verdict"] for e in local]
    for a, b in zip(remote, local, strict=True):
        # A score is null only where nothing was scored (then on both sides).
        assert (a["p_fake"] is None) == (b["p_fake"] is None), (a, b)
        if b["p_fake"] is not None:
            assert abs(a["p_fake"] - b["p_fake"]) < 1e-5


def test_screen_remote_without_url_is_a_usage_error() -> None:
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "deepscreen_cli.app", "screen", str(REPO), "--backend", "remote"],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 2
    assert "--backend-url" in out.stderr


def test_remote_model_name_reaches_the_server(server: str, tiny_onnx: Path, tmp_path: Path) -> None:
    """`--remote-model NAME` picks the model the server is asked for (it was always
    "deepscreen"): a name the server lacks fails naming it; the served one screens."""
    import shutil
    import sys

    from engine.pipeline import ClassifierSpec
    from engine.pipeline.assemble import build_classifier

    with pytest.raises(BackendUnavailable, match="'site_b' is not ready"):
        build_classifier(ClassifierSpec(backend="remote", url=server, remote_model="site_b"))
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(4):
        shutil.copy(REPO / "engine" / "assets" / "grace_hopper_512x512.jpg", folder / f"{i}.jpg")
    out = subprocess.run(
        [sys.executable, "-m", "deepscreen_cli.app", "screen", str(folder), "--model",
         str(tiny_onnx), "--backend", "remote", "--backend-url", server,
         "--remote-model", "site_b", "--quiet"],
        capture_output=True, text=True, timeout=300,
    )
    assert out.returncode == 1 and "site_b" in out.stderr, out.stderr[-2000:]
    events = _screen_events(tmp_path, folder, tiny_onnx, "--backend", "remote",
                            "--backend-url", server, "--remote-model", "deepscreen")
    assert events
