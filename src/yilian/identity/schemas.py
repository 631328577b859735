from __future__ import annotations

from pydantic import BaseModel


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class GrantOut(BaseModel):
    role: str
    role_name: str
    institution_id: int | None
    consortium_id: int | None
    division_code: str | None


class MeOut(BaseModel):
    id: int | None
    username: str
    display_name: str
    grants: list[GrantOut]
