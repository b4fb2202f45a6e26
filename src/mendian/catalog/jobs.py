import datetime as dt

from mendian.platform.jobs import periodic


@periodic("catalog.apply_list_prices", every=dt.timedelta(minutes=1))
def apply_list_prices() -> int:
    """List price changes dated in the future take effect when their time comes."""
    from .services import list_prices_apply_due

    return list_prices_apply_due()
