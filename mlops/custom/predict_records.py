"""Online inference: predictions for the player records of the 'records' variable."""

from machine_learning import online

if "custom" not in globals():  # Mage injects its own decorator when it runs the block
    from mage_ai.data_preparation.decorators import custom
else:
    custom = globals()["custom"]


@custom
def predict_records(*_args, **kwargs):
    """See :func:`machine_learning.online.predict_records`."""
    return online.predict_records(kwargs)
