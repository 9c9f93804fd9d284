"""Validate and score the day's players with the production model."""

from machine_learning import pipelines

if "transformer" not in globals():  # Mage injects its own decorator when it runs the block
    from mage_ai.data_preparation.decorators import transformer
else:
    transformer = globals()["transformer"]


@transformer
def predict_batch(raw, *_args, **kwargs):
    """See :func:`machine_learning.pipelines.predict_batch`."""
    return pipelines.predict_batch(raw, kwargs)
