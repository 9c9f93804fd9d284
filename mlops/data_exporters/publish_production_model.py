"""The production model (global data product 'production_model')."""

from machine_learning import pipelines

if "data_exporter" not in globals():  # Mage injects its own decorator when it runs the block
    from mage_ai.data_preparation.decorators import data_exporter
else:
    data_exporter = globals()["data_exporter"]


@data_exporter
def publish_production_model(decision, *_args, **kwargs):
    """See :func:`machine_learning.pipelines.production_model_reference`."""
    return pipelines.production_model_reference(decision, kwargs)
