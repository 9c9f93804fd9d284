"""Save the day's predictions and monitoring 'current' data (replacing earlier runs)."""

from machine_learning import pipelines

if "data_exporter" not in globals():  # Mage injects its own decorator when it runs the block
    from mage_ai.data_preparation.decorators import data_exporter
else:
    data_exporter = globals()["data_exporter"]


@data_exporter
def save_predictions(scored, *_args, **kwargs):
    """See :func:`machine_learning.pipelines.save_predictions`."""
    return pipelines.save_predictions(scored, kwargs)
