"""Validate and clean the raw players; rejected rows are saved with their reasons."""

from machine_learning import pipelines

if "transformer" not in globals():  # Mage injects its own decorator when it runs the block
    from mage_ai.data_preparation.decorators import transformer
else:
    transformer = globals()["transformer"]


@transformer
def clean_players(raw, *_args, **kwargs):
    """See :func:`machine_learning.pipelines.clean_players`."""
    return pipelines.clean_players(raw, kwargs)
