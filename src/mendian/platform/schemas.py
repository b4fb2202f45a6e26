from ninja import Schema


class TokenIn(Schema):
    username: str
    password: str


class RefreshIn(Schema):
    refresh_token: str


class TokenOut(Schema):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_token: str


class ErrorBody(Schema):
    code: str
    message: str
    details: object = None


class ErrorOut(Schema):
    error: ErrorBody
