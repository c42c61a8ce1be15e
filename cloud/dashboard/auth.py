"""Dashboard users, password hashes, signed session cookies and CSRF tokens.

Users come from a YAML file (`walkout cloud serve --dashboard-users FILE`, docs/dashboard.md):

    users:
      - name: alice
        role: admin                 # sees every store
        password_hash: "scrypt$16384$8$1$<salt hex>$<hash hex>"
      - name: bob
        role: staff                 # sees only the stores listed
        stores: [store-0001]
        password_hash: "..."

Hashes are hashlib.scrypt; `python -m cloud.dashboard.auth NAME` prints one. A session cookie is
`<base64url json {user, expiry}>.<HMAC-SHA256>`, signed with a server secret: it cannot be forged
or extended, and the server keeps no session table. CSRF tokens are an HMAC of the cookie, so a
form posted from another site (which cannot read the cookie) carries no valid token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

ROLES = ("admin", "staff")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 16384, 8, 1


class UsersFileError(ValueError):
    """The users file is unreadable or malformed; the message names the file and the entry."""


@dataclass(frozen=True)
class User:
    name: str
    role: str  # "admin" or "staff"
    stores: frozenset[str]  # staff: the stores they may see; admins: ignored
    password_hash: str

    def may_see(self, store_id: str) -> bool:
        return self.role == "admin" or store_id in self.stores

    @property
    def scope(self) -> frozenset[str] | None:
        """Store ids this user may see; None: every store."""
        return None if self.role == "admin" else self.stores


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(bytes.fromhex(digest)),
        )
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


def load_users(path: Path) -> dict[str, User]:
    """Users by name; UsersFileError names the file, the entry and the problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsersFileError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UsersFileError(f"{path}: not YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("users"), list):
        raise UsersFileError(f"{path}: expected a mapping with a 'users' list")
    users: dict[str, User] = {}
    for i, entry in enumerate(data["users"]):
        where = f"{path}: users[{i}]"
        if not isinstance(entry, dict):
            raise UsersFileError(f"{where}: expected a mapping")
        unknown = set(entry) - {"name", "role", "stores", "password_hash"}
        if unknown:
            raise UsersFileError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        name, role = entry.get("name"), entry.get("role")
        if not isinstance(name, str) or not name:
            raise UsersFileError(f"{where}.name: missing or empty")
        if name in users:
            raise UsersFileError(f"{where}.name: {name!r} appears twice")
        if role not in ROLES:
            raise UsersFileError(f"{where}.role: {role!r} is not one of {', '.join(ROLES)}")
        stores = entry.get("stores", [])
        if not isinstance(stores, list) or not all(isinstance(s, str) for s in stores):
            raise UsersFileError(f"{where}.stores: expected a list of store ids")
        if role == "staff" and not stores:
            raise UsersFileError(f"{where}.stores: a staff user needs at least one store")
        pw = entry.get("password_hash")
        if not isinstance(pw, str) or not pw.startswith("scrypt$") or pw.count("$") != 5:
            raise UsersFileError(
                f"{where}.password_hash: expected scrypt$N$r$p$salt$hash "
                "(python -m cloud.dashboard.auth NAME prints one)"
            )
        users[name] = User(name, role, frozenset(stores), pw)
    return users


class SessionSigner:
    """Signs and checks session cookies and CSRF tokens with one secret."""

    def __init__(self, secret: bytes, ttl_s: float = 8 * 3600.0) -> None:
        self.secret = secret
        self.ttl_s = ttl_s

    def _mac(self, data: bytes) -> str:
        return hmac.new(self.secret, data, hashlib.sha256).hexdigest()

    def issue(self, user: str, now_unix: float) -> str:
        body = json.dumps({"u": user, "exp": round(now_unix + self.ttl_s, 3)}, sort_keys=True)
        encoded = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
        return f"{encoded}.{self._mac(encoded.encode())}"

    def check(self, cookie: str | None, now_unix: float) -> tuple[str | None, str]:
        """(user, "") for a valid session, else (None, why): "none", "invalid" or "expired"."""
        if not cookie:
            return None, "none"
        encoded, _, mac = cookie.rpartition(".")
        if not encoded or not hmac.compare_digest(mac, self._mac(encoded.encode())):
            return None, "invalid"
        try:
            body = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
            user, exp = str(body["u"]), float(body["exp"])
        except (ValueError, KeyError, TypeError):
            return None, "invalid"
        if now_unix >= exp:
            return None, "expired"
        return user, ""

    def csrf(self, cookie: str) -> str:
        return self._mac(b"csrf:" + cookie.encode())

    def csrf_ok(self, cookie: str | None, token: str | None) -> bool:
        return bool(cookie and token) and hmac.compare_digest(self.csrf(cookie or ""), token or "")


def main(argv: list[str]) -> int:
    """Print a users-file entry with a fresh hash: python -m cloud.dashboard.auth NAME [ROLE
    [STORE...]]; the password is read from stdin (one line)."""
    if not argv:
        print(
            "usage: python -m cloud.dashboard.auth NAME [admin|staff [STORE...]] < password",
            file=sys.stderr,
        )
        return 2
    name, role, stores = argv[0], (argv[1] if len(argv) > 1 else "staff"), argv[2:]
    password = sys.stdin.readline().rstrip("\n")
    entry = {"name": name, "role": role, "stores": stores, "password_hash": hash_password(password)}
    print(yaml.safe_dump([entry], sort_keys=False), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
