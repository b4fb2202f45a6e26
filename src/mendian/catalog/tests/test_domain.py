from decimal import Decimal

from mendian.catalog.domain import (
    ean13_is_valid,
    ean13_with_check_digit,
    parse_scale_barcode,
    scale_barcode_make,
)


def test_computes_the_ean13_check_digit():
    assert ean13_with_check_digit("690123456789") == "6901234567892"
    assert ean13_is_valid("6901234567892")
    assert not ean13_is_valid("6901234567891")
    assert not ean13_is_valid("69012345678")


def test_parses_a_weight_scale_barcode():
    code = scale_barcode_make(plu="00042", weight_g=455)
    label = parse_scale_barcode(code)
    assert label is not None and label.plu == "00042" and label.weight_g == 455 and label.price is None


def test_parses_a_price_scale_barcode():
    label = parse_scale_barcode(scale_barcode_make(plu="00042", price_fen=1174))
    assert label is not None and label.price == Decimal("11.74")


def test_an_ordinary_ean_is_not_a_scale_barcode():
    assert parse_scale_barcode("6901234567892") is None
