"""Remote backend: batches go to an inference server over the Open Inference Protocol.

The Open Inference Protocol (KServe v2, HTTP/REST) is what Triton Inference Server, KServe and
MLServer speak, so one client serves them all; ``tritonclient.http`` is the client. Every call
has a connection and network timeout and a bounded number of retries with back-off, so a server
that is down or stuck turns into a clear :class:`BackendUnavailable` within a known time, never
a hang. The input contract comes from a local copy of the model when given, else from the
server's model config (Triton: ``deepscreen.*`` parameters written by `deepscreen export triton`),
else from the tensor shapes in the v2 model metadata.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np

from engine.backends.base import INPUT_CROPS, INPUT_SPECTRUM, OUTPUT_LOGIT, Backend
from engine.errors import BackendUnavailable, DeepscreenError, ModelError, UsageError
from engine.preprocess import META_PREFIX, InputContract

log = logging.getLogger(__name__)


def _httpclient():
    try:
        import tritonclient.http as httpclient
        from tritonclient.utils import InferenceServerException
    except ImportError as exc:
        raise BackendUnavailable(
            f"the remote backend needs tritonclient (pip install 'tritonclient[http]'): {exc}"
        ) from exc
    return httpclient, InferenceServerException


class RemoteBackend(Backend):
    """Classifier served by a KServe-v2 / Triton server.

    Args:
        url: "host:port" of the server's HTTP endpoint (no scheme).
        model_name: model name on the server.
        model: optional local ONNX of the same model; its metadata gives the contract.
        timeout_s: connect and network timeout of each request.
        retries: extra attempts after a failed request (connection refused, timeout, 5xx).
        backoff_s: wait before the first retry (doubles each time).
        max_batch: largest batch per request (the server's max_batch_size).
        binary: send tensors with Triton's binary tensor extension (True) or as JSON (False,
            any v2 server); None asks the server whether it lists "binary_tensor_data".
    """

    def __init__(
        self,
        url: str | None = None,
        model_name: str = "deepscreen",
        model: Path | None = None,
        timeout_s: float = 5.0,
        retries: int = 2,
        backoff_s: float = 0.25,
        max_batch: int = 64,
        binary: bool | None = None,
    ) -> None:
        if not url:
            raise UsageError("the remote backend needs --url host:port of a KServe v2 server")
        self._http, self._server_error = _httpclient()
        self.url = url.removeprefix("http://")
        self.model_name = model_name
        self.timeout_s = float(timeout_s)
        self.retries = max(0, int(retries))
        self.backoff_s = backoff_s
        self.max_batch = max_batch
        self.binary = binary
        self.name = "remote"
        self._local = threading.local()
        self._call("check readiness", self._check_ready)
        if binary is None:
            meta = self._call("read server metadata", lambda c: c.get_server_metadata())
            self.binary = "binary_tensor_data" in meta.get("extensions", [])
        self.contract = self._contract(model)

    # -- connection handling -------------------------------------------------------------
    def _client(self):
        client = getattr(self._local, "client", None)
        if client is None:  # one client per thread: the HTTP client is not thread-safe
            client = self._http.InferenceServerClient(
                url=self.url,
                connection_timeout=self.timeout_s,
                network_timeout=self.timeout_s,
            )
            self._local.client = client
        return client

    def _drop_client(self) -> None:
        client = getattr(self._local, "client", None)
        self._local.client = None
        if client is not None:
            try:
                client.close()
            except Exception:  # a broken connection may fail to close; it is gone anyway
                pass

    def _retryable(self, exc: Exception) -> bool:
        if isinstance(exc, self._server_error):
            status = str(exc.status() or "")
            # 4xx: our request is wrong; retrying cannot help.
            return not status.startswith("4") and "400" not in status
        return True  # connection refused/reset, timeouts, DNS: worth another try

    def _call(self, what: str, fn):
        delay = self.backoff_s
        for attempt in range(self.retries + 1):
            try:
                return fn(self._client())
            except DeepscreenError:
                raise
            except Exception as exc:
                self._drop_client()
                if not self._retryable(exc):
                    raise ModelError(f"remote {self.url}/{self.model_name}: {what}: {exc}") from exc
                if attempt == self.retries:
                    raise BackendUnavailable(
                        f"remote server {self.url} failed to {what} after {attempt + 1} "
                        f"attempt(s) (timeout {self.timeout_s:g} s each): "
                        f"{type(exc).__name__}: {exc}".strip()
                    ) from exc
                log.warning("remote %s: %s failed (%s); retry in %.2f s",
                            self.url, what, exc, delay)
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def _check_ready(self, client) -> None:
        if not client.is_server_live():
            raise ConnectionError("server is not live")
        if not client.is_model_ready(self.model_name):
            raise ConnectionError(f"model {self.model_name!r} is not ready")

    # -- contract ------------------------------------------------------------------------
    def _contract(self, model: Path | None) -> InputContract:
        meta = self._call("read model metadata", lambda c: c.get_model_metadata(self.model_name))
        shapes = {t["name"]: list(t["shape"]) for t in meta.get("inputs", [])}
        if set(shapes) != {INPUT_CROPS, INPUT_SPECTRUM}:
            raise ModelError(
                f"remote model {self.model_name} has inputs {sorted(shapes)}, not crops/spectrum"
            )
        if model is not None and Path(model).is_file():
            from engine.backends.ort import OrtBackend

            contract = OrtBackend(Path(model)).contract
        else:
            contract = self._contract_from_config() or InputContract(
                input_size=int(shapes[INPUT_CROPS][-1]),
                spectrum_bins=int(shapes[INPUT_SPECTRUM][-1]),
            )
        s, bins = contract.input_size, contract.spectrum_bins
        if shapes[INPUT_CROPS][-3:] != [3, s, s] or shapes[INPUT_SPECTRUM][-1] != bins:
            raise ModelError(
                f"remote model {self.model_name} takes {shapes}, the contract wants crops "
                f"(N,3,{s},{s}) and spectrum (N,{bins})"
            )
        return contract

    def _contract_from_config(self) -> InputContract | None:
        """Triton's model-config extension carries the contract; other servers lack it."""
        try:
            config = self._client().get_model_config(self.model_name)
        except Exception:
            return None
        params = config.get("parameters", {}) if isinstance(config, dict) else {}
        meta = {
            k: v.get("string_value", "")
            for k, v in params.items()
            if k.startswith(META_PREFIX) and isinstance(v, dict)
        }
        return InputContract.from_metadata(meta) if meta else None

    # -- inference -----------------------------------------------------------------------
    def _infer(self, crops: np.ndarray, spectrum: np.ndarray) -> np.ndarray:
        http = self._http

        def run(client):
            inputs = []
            for name, arr in ((INPUT_CROPS, crops), (INPUT_SPECTRUM, spectrum)):
                inp = http.InferInput(name, list(arr.shape), "FP32")
                inp.set_data_from_numpy(arr, binary_data=self.binary)
                inputs.append(inp)
            out = [http.InferRequestedOutput(OUTPUT_LOGIT, binary_data=self.binary)]
            result = client.infer(self.model_name, inputs, outputs=out)
            logit = result.as_numpy(OUTPUT_LOGIT)
            if logit is None or logit.size != len(crops):
                raise ModelError(f"remote model returned no usable logit for {len(crops)} crops")
            return logit.reshape(-1)

        return self._call("run inference", run)

    def _predict_logits(self, crops: np.ndarray, spectrum: np.ndarray) -> np.ndarray:
        parts = [
            self._infer(crops[i : i + self.max_batch], spectrum[i : i + self.max_batch])
            for i in range(0, len(crops), self.max_batch)
        ]
        return np.concatenate(parts)

    def close(self) -> None:
        self._drop_client()
