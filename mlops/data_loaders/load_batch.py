"""The day's players to score (batch/<day>/players.csv)."""

from machine_learning import pipelines

if "data_loader" not in globals():  # Mage injects its own decorator when it runs the block
    from mage_ai.data_preparation.decorators import data_loader
else:
    data_loader = globals()["data_loader"]


@data_loader
def load_batch(*_args, **kwargs):
    """See :func:`machine_learning.pipelines.load_batch`."""
    return pipelines.load_batch(kwargs)
