"""Online prediction service: a FastAPI app that serves the registry's ``production`` model.

Modules: :mod:`.schemas` (request and response models derived from the player schema),
:mod:`.engines` (the ONNX Runtime fast path, verified against scikit-learn, and its fallback),
:mod:`.holder` (the model in service, polled from the registry and swapped atomically),
:mod:`.metrics` (Prometheus metrics), :mod:`.app` (the app factory) and :mod:`.cli`
(``gaming-mlops serve``).
"""
