"""Evidently drift tests and the retraining decision, saved with their reasons."""

from machine_learning import pipelines

if "transformer" not in globals():  # Mage injects its own decorator when it runs the block
    from mage_ai.data_preparation.decorators import transformer
else:
    transformer = globals()["transformer"]


@transformer
def run_drift_tests(reference, current, *_args, **kwargs):
    """See :func:`machine_learning.pipelines.run_drift_tests`."""
    return pipelines.run_drift_tests(reference, current, kwargs)
