"""The day's Evidently reports, saved to storage and the Evidently workspace."""

from machine_learning import pipelines

if "data_exporter" not in globals():  # Mage injects its own decorator when it runs the block
    from mage_ai.data_preparation.decorators import data_exporter
else:
    data_exporter = globals()["data_exporter"]


@data_exporter
def build_monitoring_reports(reference, current, *_args, **kwargs):
    """See :func:`machine_learning.pipelines.build_daily_reports`."""
    return pipelines.build_daily_reports(reference, current, kwargs)
