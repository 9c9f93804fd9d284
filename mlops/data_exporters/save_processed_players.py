"""Save the processed dataset and the player features to storage."""

from machine_learning import pipelines

if "data_exporter" not in globals():  # Mage injects its own decorator when it runs the block
    from mage_ai.data_preparation.decorators import data_exporter
else:
    data_exporter = globals()["data_exporter"]


@data_exporter
def save_processed_players(processed, *_args, **kwargs):
    """See :func:`machine_learning.pipelines.save_processed`."""
    return pipelines.save_processed(processed, kwargs)
