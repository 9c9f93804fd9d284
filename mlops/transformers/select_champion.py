"""Champion/challenger: promote the candidate only if it beats production."""

from machine_learning import pipelines

if "transformer" not in globals():  # Mage injects its own decorator when it runs the block
    from mage_ai.data_preparation.decorators import transformer
else:
    transformer = globals()["transformer"]


@transformer
def select_champion(evaluation, *_args, **kwargs):
    """See :func:`machine_learning.pipelines.select_champion`."""
    return pipelines.select_champion(evaluation, kwargs)
