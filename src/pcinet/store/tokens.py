"""Bearer tokens. Only the sha256 digest of a token is stored, never the token; a token is
looked up by its digest and named by its ``id`` (which reveals nothing of it)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pcinet.store.models import Token

ROLES = ("member", "admin", "service")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(
    session: Session,
    project_id: str,
    role: str,
    *,
    host: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[str, Token]:
    """Make and store a new random token; return it (the only time it is seen in clear) and
    its row."""
    token = secrets.token_urlsafe(32)
    row = put_token(session, token, project_id, role, host=host, expires_at=expires_at)
    return token, row


def put_token(
    session: Session,
    token: str,
    project_id: str,
    role: str,
    *,
    host: str | None = None,
    expires_at: datetime | None = None,
    configured: bool = False,
) -> Token:
    """Store ``token``, replacing its project, role, host, expiry and mark."""
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    row = session.get(Token, hash_token(token))
    if row is None:
        row = Token(token_hash=hash_token(token))
        session.add(row)
    row.project_id, row.role, row.host = project_id, role, host
    row.expires_at, row.configured = expires_at, configured
    session.flush()
    return row


def put_configured_admin(session: Session, token: str, project_id: str) -> int:
    """Store the configured admin token and delete the one configured before it (rotation);
    return how many were deleted. Tokens issued through the API are kept."""
    digest = hash_token(token)
    old = session.scalars(
        sa.select(Token).where(Token.configured.is_(True), Token.token_hash != digest)
    ).all()
    for row in old:
        session.delete(row)
    put_token(session, token, project_id, "admin", configured=True)
    return len(old)


def get_token(session: Session, token: str) -> Token | None:
    """The stored token matching ``token``, or None (unknown tokens are 401 to the API)."""
    return session.get(Token, hash_token(token))


def list_tokens(session: Session) -> list[Token]:
    return list(session.scalars(sa.select(Token).order_by(Token.created_at, Token.id)))


def delete_token(session: Session, token_id: str) -> Token | None:
    """Delete the token named ``token_id``; the deleted row, or None if there is none."""
    row = session.scalars(sa.select(Token).where(Token.id == token_id)).one_or_none()
    if row is not None:
        session.delete(row)
        session.flush()
    return row
