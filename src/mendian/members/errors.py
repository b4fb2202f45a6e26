from __future__ import annotations

from mendian.core.errors import Conflict, InvalidInput, NotFound


class MemberExists(Conflict):
    """A member with this mobile number already exists."""

    code = "member_exists"

    def __init__(self, member_code: str) -> None:
        super().__init__("a member with this mobile number already exists", details={"member": member_code})
        self.member_code = member_code


class MemberNotFound(NotFound):
    """Member not found."""

    code = "member_not_found"


class InvalidMobile(InvalidInput):
    """Not a valid mainland mobile number (11 digits starting with 1)."""

    code = "invalid_mobile"


class InsufficientPoints(Conflict):
    """The member does not have enough points."""

    code = "insufficient_points"


class CouponUnavailable(Conflict):
    """The coupon is used, void, expired or not this member's."""

    code = "coupon_unavailable"


class QuotaExhausted(Conflict):
    """The coupon template's quota is exhausted."""

    code = "coupon_quota_exhausted"
