"""Bearer tokens for the control plane: who is calling, and which stores they may touch.

A token file (YAML) lists callers:

    tokens:
      - name: head-office          # shown in logs and as the default `resolved_by`
        token_env: WALKOUT_HQ_TOKEN   # the secret, from the environment ...
        stores: "*"                # every store
      - name: store-1-ops
        token: 8f1d...             # ... or inline (keep the file private)
        stores: [store-1]

Tokens are compared in constant time. A missing or unknown token is UNAUTHENTICATED; a known one
used on a store outside its list is PERMISSION_DENIED (the service checks that per call).
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

log = logging.getLogger(__name__)
ALL_STORES = "*"
MIN_TOKEN_CHARS = 16  # a short token is guessable: refuse it at start-up, not after a breach


class TokenFileError(ValueError):
    """A token file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: a name and the stores it may see (None: all stores)."""

    name: str
    stores: frozenset[str] | None

    def may(self, store_id: str) -> bool:
        return self.stores is None or store_id in self.stores

    def scope(self, wanted: Collection[str] | None = None) -> list[str] | None:
        """Stores a query may cover: `wanted` (all must be allowed; checked by the caller of
        this) or, when none are named, the caller's own list (None: every store)."""
        if wanted:
            return sorted(wanted)
        return None if self.stores is None else sorted(self.stores)


@dataclass(frozen=True)
class _Entry:
    token: str
    caller: Caller


class TokenTable:
    """The known tokens."""

    def __init__(self, entries: Iterable[tuple[str, Caller]]):
        self._entries = [_Entry(token, caller) for token, caller in entries]
        for e in self._entries:
            if len(e.token) < MIN_TOKEN_CHARS:
                raise TokenFileError(
                    f"token of {e.caller.name!r}: shorter than {MIN_TOKEN_CHARS} characters"
                )

    def entries(self) -> list[tuple[str, Caller]]:
        return [(e.token, e.caller) for e in self._entries]

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, token: str) -> Caller | None:
        found = None
        for e in self._entries:  # no early exit: the time taken does not depend on which matched
            if hmac.compare_digest(e.token.encode(), token.encode()):
                found = e.caller
        return found

    def authenticate(self, metadata: Iterable[tuple[str, str | bytes]]) -> Caller | str:
        """The caller named by the `authorization` metadata, or why there is none."""
        values = [v for k, v in metadata if k.lower() == "authorization"]
        if not values:
            return "no authorization metadata; send 'authorization: Bearer <token>'"
        value = values[0] if isinstance(values[0], str) else values[0].decode("latin-1")
        scheme, _, token = value.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "authorization metadata is not 'Bearer <token>'"
        caller = self.lookup(token.strip())
        if caller is None:
            return "unknown token"
        return caller

    @classmethod
    def load(cls, path: Path, env: Mapping[str, str] | None = None) -> TokenTable:
        """Read a token file (format in the module doc)."""
        env = os.environ if env is None else env
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise TokenFileError(f"{path}: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("tokens"), list):
            raise TokenFileError(f"{path}: expected a mapping with a list under 'tokens'")
        entries: list[tuple[str, Caller]] = []
        names: set[str] = set()
        for i, item in enumerate(data["tokens"]):
            where = f"{path}: tokens[{i}]"
            if not isinstance(item, dict):
                raise TokenFileError(f"{where}: expected a mapping")
            unknown = set(item) - {"name", "token", "token_env", "stores"}
            if unknown:
                raise TokenFileError(f"{where}: unknown keys {sorted(unknown)}")
            name = item.get("name")
            if not isinstance(name, str) or not name:
                raise TokenFileError(f"{where}: 'name' must be a non-empty string")
            if name in names:
                raise TokenFileError(f"{where}: name {name!r} is used twice")
            names.add(name)
            if ("token" in item) == ("token_env" in item):
                raise TokenFileError(f"{where} ({name}): give exactly one of 'token', 'token_env'")
            if "token_env" in item:
                token = env.get(str(item["token_env"]))
                if not token:
                    raise TokenFileError(
                        f"{where} ({name}): environment variable {item['token_env']} is not set"
                    )
            else:
                token = str(item["token"])
            entries.append((token, Caller(name, _stores(item.get("stores"), where, name))))
        return cls(entries)


def _stores(value: object, where: str, name: str) -> frozenset[str] | None:
    if value == ALL_STORES:
        return None
    if (
        isinstance(value, list)
        and value
        and all(isinstance(s, str) and s and s != ALL_STORES for s in value)
    ):
        return frozenset(value)
    raise TokenFileError(
        f"{where} ({name}): 'stores' must be \"*\" or a non-empty list of store ids, got {value!r}"
    )
