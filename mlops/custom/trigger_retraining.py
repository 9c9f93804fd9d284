"""Run ml_retraining through Mage when the decision says so, and wait for it."""

from machine_learning import pipelines

if "custom" not in globals():  # Mage injects its own decorator when it runs the block
    from mage_ai.data_preparation.decorators import custom
else:
    custom = globals()["custom"]


@custom
def trigger_retraining(decision, *_args, **kwargs):
    """See :func:`machine_learning.pipelines.trigger_retraining`."""
    return pipelines.trigger_retraining(decision, kwargs)
