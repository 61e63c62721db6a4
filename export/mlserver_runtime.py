"""MLServer runtime serving the classifier ONNX with ONNX Runtime (Open Inference Protocol).

This file runs inside an MLServer process (its own virtual environment, see docs/EXPORT.md);
:func:`export.serve.write_mlserver_folder` copies it next to the model, where MLServer imports
it as ``mlserver_runtime.DeepscreenOnnx``. It is the stand-in for Triton where Triton cannot be
installed: same protocol, same model file, same tensor names.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse


class DeepscreenOnnx(MLModel):
    """Runs ``parameters.uri`` (an ONNX file) on the CPU; inputs crops + spectrum -> logit."""

    async def load(self) -> bool:
        so = ort.SessionOptions()
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.intra_op_num_threads = 1
        self._session = ort.InferenceSession(
            self.settings.parameters.uri, so, providers=["CPUExecutionProvider"]
        )
        self.ready = True
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        feeds = {
            inp.name: np.ascontiguousarray(NumpyCodec.decode_input(inp), dtype=np.float32)
            for inp in payload.inputs
        }
        (logit,) = self._session.run(["logit"], feeds)
        return InferenceResponse(
            model_name=self.name,
            id=payload.id,
            outputs=[NumpyCodec.encode_output("logit", logit.astype(np.float32))],
        )
