"""The cloud's gRPC control plane (walkout.v1.ControlPlane, docs/control-plane.md).

- `auth.py`: bearer tokens, each scoped to all stores or a list of stores;
- `convert.py`: record-layer results (cloud/records.py) to walkout.v1 messages;
- `publisher.py`: signed config bundles published retained over MQTT;
- `service.py`: the RPCs;
- `server.py`: the grpcio server (optional TLS);
- `client.py`: a channel with the caller's token, for the CLI and tools.
"""
