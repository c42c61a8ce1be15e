"""A ControlPlane stub that sends the caller's bearer token with every call."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from walkout.v1 import control_pb2_grpc


class _Bearer(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
):
    def __init__(self, token: str):
        self._metadata = ("authorization", f"Bearer {token}")

    def _details(self, details: Any) -> Any:
        metadata = [*(details.metadata or []), self._metadata]
        return details._replace(metadata=metadata)

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: Any, request: Any
    ) -> Any:
        return continuation(self._details(details), request)


def open_channel(target: str, token: str | None, *, ca_file: Path | None = None) -> grpc.Channel:
    """A channel to `target` (HOST:PORT); TLS when `ca_file` (the CA that signed the server's
    certificate) is given; no token means calls go out unauthenticated."""
    if ca_file is None:
        channel = grpc.insecure_channel(target)
    else:
        channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(ca_file.read_bytes()))
    if token:
        channel = grpc.intercept_channel(channel, _Bearer(token))
    return channel


def stub(channel: grpc.Channel) -> control_pb2_grpc.ControlPlaneStub:
    return control_pb2_grpc.ControlPlaneStub(channel)
