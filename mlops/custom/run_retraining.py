"""Run training_workflow, then select_best_model; fail if either fails."""

from machine_learning import pipelines

if "custom" not in globals():  # Mage injects its own decorator when it runs the block
    from mage_ai.data_preparation.decorators import custom
else:
    custom = globals()["custom"]


@custom
def run_retraining(*_args, **kwargs):
    """See :func:`machine_learning.pipelines.retrain`."""
    return pipelines.retrain(kwargs)
