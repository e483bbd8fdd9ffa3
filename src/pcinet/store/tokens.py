"""Bearer tokens. Only the sha256 digest of a token is stored, never the token."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy.orm import Session

from pcinet.store.models import Token

ROLES = ("member", "admin", "service")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(session: Session, project_id: str, role: str) -> str:
    """Make, store and return a new random token (the only time it is seen in clear)."""
    token = secrets.token_urlsafe(32)
    put_token(session, token, project_id, role)
    return token


def put_token(session: Session, token: str, project_id: str, role: str) -> Token:
    """Store ``token`` (e.g. the configured admin token), replacing its project and role."""
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {', '.join(ROLES)}")
    row = session.get(Token, hash_token(token))
    if row is None:
        row = Token(token_hash=hash_token(token), project_id=project_id, role=role)
        session.add(row)
    else:
        row.project_id, row.role = project_id, role
    session.flush()
    return row


def get_token(session: Session, token: str) -> Token | None:
    """The stored token matching ``token``, or None (unknown tokens are 401 to the API)."""
    return session.get(Token, hash_token(token))
