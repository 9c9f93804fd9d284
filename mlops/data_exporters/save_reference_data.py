"""Save the train and test sets, scored by the new model, as the monitoring reference."""

from machine_learning import pipelines

if "data_exporter" not in globals():  # Mage injects its own decorator when it runs the block
    from mage_ai.data_preparation.decorators import data_exporter
else:
    data_exporter = globals()["data_exporter"]


@data_exporter
def save_reference_data(training_result, training_data, *_args, **kwargs):
    """See :func:`machine_learning.pipelines.save_reference`."""
    return pipelines.save_reference(training_result, training_data, kwargs)
