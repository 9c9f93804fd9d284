"""The most recent labelled data, on which candidate and production are compared."""

from machine_learning import pipelines

if "data_loader" not in globals():  # Mage injects its own decorator when it runs the block
    from mage_ai.data_preparation.decorators import data_loader
else:
    data_loader = globals()["data_loader"]


@data_loader
def load_evaluation_data(*_args, **kwargs):
    """See :func:`machine_learning.pipelines.load_evaluation_data`."""
    return pipelines.load_evaluation_data(kwargs)
