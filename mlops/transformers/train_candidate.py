"""Train, track in MLflow and register the new version as 'candidate'."""

from machine_learning import pipelines

if "transformer" not in globals():  # Mage injects its own decorator when it runs the block
    from mage_ai.data_preparation.decorators import transformer
else:
    transformer = globals()["transformer"]


@transformer
def train_candidate(training_data, *_args, **kwargs):
    """See :func:`machine_learning.pipelines.train_candidate`."""
    return pipelines.train_candidate(training_data, kwargs)
