"""Pure catalog rules: EAN-13 check digits and in-store scale barcodes. No Django here."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


def ean13_check_digit(first12: str) -> str:
    if len(first12) != 12 or not first12.isdigit():
        raise ValueError("EAN-13 needs 12 digits before the check digit")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str((10 - total % 10) % 10)


def ean13_with_check_digit(first12: str) -> str:
    return first12 + ean13_check_digit(first12)


def ean13_is_valid(code: str) -> bool:
    return len(code) == 13 and code.isdigit() and ean13_check_digit(code[:12]) == code[12]


@dataclass(frozen=True)
class ScaleBarcode:
    """An in-store scale label: ``2 T PPPPP VVVVV C``.

    T = 1: VVVVV is the weight in grams; T = 2: VVVVV is the price in fen. PPPPP is the SKU's PLU.
    """

    plu: str
    weight_g: int | None
    price: Decimal | None


def parse_scale_barcode(code: str) -> ScaleBarcode | None:
    """The scale label carried by ``code``, or None when it is not a valid scale barcode."""
    if not ean13_is_valid(code) or code[0] != "2" or code[1] not in "12":
        return None
    plu, value = code[2:7], int(code[7:12])
    if code[1] == "1":
        return ScaleBarcode(plu=plu, weight_g=value, price=None)
    return ScaleBarcode(plu=plu, weight_g=None, price=(Decimal(value) / 100).quantize(Decimal("0.01")))


def scale_barcode_make(*, plu: str, weight_g: int | None = None, price_fen: int | None = None) -> str:
    if (weight_g is None) == (price_fen is None):
        raise ValueError("give a weight or a price")
    kind, value = ("1", weight_g) if weight_g is not None else ("2", price_fen)
    if not (len(plu) == 5 and plu.isdigit()) or not 0 <= int(value) <= 99999:
        raise ValueError("PLU is 5 digits and the value at most 99999")
    return ean13_with_check_digit(f"2{kind}{plu}{int(value):05d}")
