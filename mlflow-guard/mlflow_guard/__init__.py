"""Host-header and CORS protection for the MLflow tracking server (``--app-name host-guard``).

MLflow 3.2.0's ``mlflow server`` has no ``--allowed-hosts`` nor ``--cors-allowed-origins``; this
package adds both as an ``mlflow.app`` plugin, the mechanism of MLflow's own ``basic-auth``. The
rules live in :mod:`mlflow_guard.rules` (pure functions), the WSGI wrapper in
:mod:`mlflow_guard.middleware` (standard library only) and the factory MLflow calls in
:mod:`mlflow_guard.app`.
"""

APP_NAME = "host-guard"
