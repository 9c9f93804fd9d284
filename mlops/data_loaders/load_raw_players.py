"""Raw labelled players from storage (ingested from DATA_PATH or simulated when absent)."""

from machine_learning import pipelines

if "data_loader" not in globals():  # Mage injects its own decorator when it runs the block
    from mage_ai.data_preparation.decorators import data_loader
else:
    data_loader = globals()["data_loader"]


@data_loader
def load_raw_players(*_args, **kwargs):
    """See :func:`machine_learning.pipelines.load_raw_players`."""
    return pipelines.load_raw_players(kwargs)
