"""The walkout.v1 wire schema: checked-in code matches the .proto files, messages round-trip,
every element is documented, and the gRPC service is generated and callable."""

from __future__ import annotations

import importlib.util
import sys
from concurrent import futures
from pathlib import Path
from types import ModuleType

import pytest
from google.protobuf import descriptor_pb2

REPO = Path(__file__).resolve().parents[1]
PROTOS = REPO / "protos"
PACKAGE_DIR = PROTOS / "walkout" / "v1"

if str(PROTOS) not in sys.path:  # the package root of `walkout` when not pip-installed
    sys.path.insert(0, str(PROTOS))

from walkout.v1 import (  # noqa: E402
    SCHEMA_VERSION,
    ack_pb2,
    common_pb2,
    config_pb2,
    control_pb2,
    events_pb2,
)


def _load_generate() -> ModuleType:
    spec = importlib.util.spec_from_file_location("walkout_protos_generate", PROTOS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _load_generate()
PROTO_FILES = sorted(PACKAGE_DIR.glob("*.proto"))


# (a) the checked-in code is what the .proto sources generate


def test_every_proto_has_checked_in_code() -> None:
    assert {p.stem for p in PROTO_FILES} >= {"common", "events", "config", "ack", "control"}
    for proto in PROTO_FILES:
        assert (PACKAGE_DIR / f"{proto.stem}_pb2.py").is_file(), proto.name
        assert (PACKAGE_DIR / f"{proto.stem}_pb2.pyi").is_file(), proto.name
        grpc_file = PACKAGE_DIR / f"{proto.stem}_pb2_grpc.py"
        assert grpc_file.is_file() == generate.has_service(proto), grpc_file.name


def test_checked_in_code_matches_fresh_generation(tmp_path: Path) -> None:
    fresh = generate.generate(tmp_path)
    assert fresh, "protoc generated nothing"
    fresh_names = {p.name for p in fresh}
    checked_in = {p.name for p in PACKAGE_DIR.iterdir() if p.name.endswith(("_pb2.py", "_pb2.pyi"))}
    checked_in |= {p.name for p in PACKAGE_DIR.glob("*_pb2_grpc.py")}
    assert fresh_names == checked_in
    stale = [p.name for p in fresh if (PACKAGE_DIR / p.name).read_bytes() != p.read_bytes()]
    assert not stale, f"out of date, run `python protos/generate.py`: {stale}"
    assert generate.out_of_date() == []


def test_generated_grpc_code_imports_through_the_package_path() -> None:
    text = (PACKAGE_DIR / "control_pb2_grpc.py").read_text(encoding="utf-8")
    assert "from walkout.v1 import control_pb2" in text


def test_has_service_ignores_commented_out_services(tmp_path: Path) -> None:
    proto = tmp_path / "x.proto"
    proto.write_text('syntax = "proto3";\n// service Old {\n/* service Older { */\n')
    assert not generate.has_service(proto)
    proto.write_text('syntax = "proto3";\nservice New {\n}\n')
    assert generate.has_service(proto)


# Every message, field, enum, enum value, oneof, service and method carries a comment.

# FileDescriptorProto / DescriptorProto / EnumDescriptorProto / ServiceDescriptorProto field numbers
_MESSAGE, _ENUM, _SERVICE = 4, 5, 6
_FIELD, _NESTED, _NESTED_ENUM, _ONEOF = 2, 3, 4, 8
_VALUE, _METHOD = 2, 2


def _documented_elements(
    file: descriptor_pb2.FileDescriptorProto,
) -> list[tuple[str, tuple[int, ...]]]:
    elements: list[tuple[str, tuple[int, ...]]] = []

    def enum(e: descriptor_pb2.EnumDescriptorProto, path: tuple[int, ...], prefix: str) -> None:
        elements.append((f"{prefix}{e.name}", path))
        for i, v in enumerate(e.value):
            elements.append((f"{prefix}{e.name}.{v.name}", (*path, _VALUE, i)))

    def message(m: descriptor_pb2.DescriptorProto, path: tuple[int, ...], prefix: str) -> None:
        name = f"{prefix}{m.name}"
        elements.append((name, path))
        for i, f in enumerate(m.field):
            elements.append((f"{name}.{f.name}", (*path, _FIELD, i)))
        for i, o in enumerate(m.oneof_decl):
            elements.append((f"{name}.{o.name}", (*path, _ONEOF, i)))
        for i, n in enumerate(m.nested_type):
            message(n, (*path, _NESTED, i), f"{name}.")
        for i, e in enumerate(m.enum_type):
            enum(e, (*path, _NESTED_ENUM, i), f"{name}.")

    for i, m in enumerate(file.message_type):
        message(m, (_MESSAGE, i), "")
    for i, e in enumerate(file.enum_type):
        enum(e, (_ENUM, i), "")
    for i, s in enumerate(file.service):
        elements.append((s.name, (_SERVICE, i)))
        for j, method in enumerate(s.method):
            elements.append((f"{s.name}.{method.name}", (_SERVICE, i, _METHOD, j)))
    return elements


def test_every_schema_element_has_a_comment(tmp_path: Path) -> None:
    out = tmp_path / "schema.pb"
    generate.run_protoc(f"--descriptor_set_out={out}", "--include_source_info")
    files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file
    assert sorted(f.name for f in files) == sorted(f"walkout/v1/{p.name}" for p in PROTO_FILES)
    undocumented = []
    checked = 0
    for file in files:
        assert file.package == "walkout.v1", file.name
        assert file.syntax == "proto3", file.name
        comments = {
            tuple(loc.path): (loc.leading_comments + loc.trailing_comments).strip()
            for loc in file.source_code_info.location
        }
        for name, path in _documented_elements(file):
            checked += 1
            if not comments.get(path):
                undocumented.append(f"{file.name}: {name}")
    assert checked > 100
    assert not undocumented, "add a comment to: " + ", ".join(undocumented)


# (b) messages round-trip through the wire format


def _receipt_event() -> events_pb2.EdgeEvent:
    evidence = events_pb2.Evidence(
        source=events_pb2.EVIDENCE_SOURCE_WEIGHT,
        shelf_event_id="0f" * 16,
        delta_grams=-331.5,
        shopper_distance_m=0.42,
        track_id=7,
        confidence=0.97,
        competing=[
            events_pb2.Hypothesis(
                visit_id="b" * 32, track_id=9, product_id="SKU-1", quantity=1, likelihood=0.03
            )
        ],
        shopper_position=common_pb2.FloorPoint(x_m=2.5, y_m=1.25),
    )
    line = events_pb2.ReceiptLine(
        product_id="SKU-1",
        name="Sparkling water 330 ml",
        quantity=2,
        unit_price=common_pb2.Money(currency="EUR", minor_units=129),
        line_total=common_pb2.Money(currency="EUR", minor_units=258),
        evidence=[evidence],
    )
    receipt = events_pb2.Receipt(
        receipt_id="c" * 32,
        visit_id="a" * 32,
        lines=[line],
        total=common_pb2.Money(currency="EUR", minor_units=258),
        price_book_version=12,
        planogram_version=4,
        needs_review=True,
        review_reasons=[
            events_pb2.REVIEW_REASON_AMBIGUOUS_SHOPPER,
            events_pb2.REVIEW_REASON_LOW_CONFIDENCE,
        ],
        exited_at_unix_ns=1_732_447_800_123_456_789,
    )
    header = common_pb2.EventHeader(
        event_id="d" * 32,
        store_id="store-1",
        stream="receipts",
        sequence=2**40 + 3,
        event_time_unix_ns=1_732_447_800_500_000_000,
        monotonic_time_s=1234.5625,
        schema_version=SCHEMA_VERSION,
        session_id="session-1",
    )
    return events_pb2.EdgeEvent(header=header, receipt=receipt)


def test_edge_event_with_receipt_round_trips() -> None:
    original = _receipt_event()
    wire = original.SerializeToString()
    decoded = events_pb2.EdgeEvent.FromString(wire)
    assert decoded == original
    assert decoded.WhichOneof("body") == "receipt"
    assert decoded.header.sequence == 2**40 + 3
    assert decoded.header.stream == "receipts"
    assert decoded.header.schema_version == SCHEMA_VERSION >= 1
    receipt = decoded.receipt
    assert receipt.total.minor_units == sum(line.line_total.minor_units for line in receipt.lines)
    assert receipt.lines[0].evidence[0].competing[0].track_id == 9
    assert receipt.lines[0].evidence[0].delta_grams == -331.5
    assert list(receipt.review_reasons) == [
        events_pb2.REVIEW_REASON_AMBIGUOUS_SHOPPER,
        events_pb2.REVIEW_REASON_LOW_CONFIDENCE,
    ]
    assert receipt.exited_at_unix_ns == 1_732_447_800_123_456_789
    # Deterministic serialization: the same message always gives the same bytes (replay).
    assert decoded.SerializeToString(deterministic=True) == original.SerializeToString(
        deterministic=True
    )


@pytest.mark.parametrize(
    "case", [f.name for f in events_pb2.EdgeEvent.DESCRIPTOR.oneofs_by_name["body"].fields]
)
def test_every_edge_event_body_round_trips(case: str) -> None:
    event = events_pb2.EdgeEvent(header=common_pb2.EventHeader(event_id="e" * 32, sequence=1))
    getattr(event, case).SetInParent()
    decoded = events_pb2.EdgeEvent.FromString(event.SerializeToString())
    assert decoded.WhichOneof("body") == case
    assert decoded.header.event_id == "e" * 32


def test_edge_event_carries_every_event_body() -> None:
    bodies = {
        f.message_type.name for f in events_pb2.EdgeEvent.DESCRIPTOR.oneofs_by_name["body"].fields
    }
    assert bodies == {
        "VisitStarted",
        "VisitEnded",
        "ShelfEvent",
        "CartLineAdded",
        "CartLineRemoved",
        "Receipt",
        "SensorFault",
        "Heartbeat",
        "EvidenceClip",
    }


def test_signed_bundle_with_price_book_round_trips() -> None:
    book = config_pb2.PriceBook(
        version=13,
        effective_from_unix_ns=1_732_500_000_000_000_000,
        currency="EUR",
        prices=[
            config_pb2.PriceEntry(product_id="SKU-1", unit_price_minor_units=129),
            config_pb2.PriceEntry(product_id="SKU-2", unit_price_minor_units=2_499),
        ],
    )
    bundle = config_pb2.SignedBundle(
        payload=book.SerializeToString(deterministic=True),
        payload_type=config_pb2.PAYLOAD_TYPE_PRICE_BOOK,
        version=book.version,
        store_id="store-1",
        key_id="cloud-2025-01",
        signature=bytes(range(64)),
        issued_at_unix_ns=1_732_400_000_000_000_000,
    )
    decoded = config_pb2.SignedBundle.FromString(bundle.SerializeToString())
    assert decoded == bundle
    assert decoded.payload_type == config_pb2.PAYLOAD_TYPE_PRICE_BOOK
    assert decoded.signature == bytes(range(64))
    assert decoded.store_id == "store-1"
    inner = config_pb2.PriceBook.FromString(decoded.payload)
    assert inner.version == decoded.version == 13
    assert {p.product_id: p.unit_price_minor_units for p in inner.prices} == {
        "SKU-1": 129,
        "SKU-2": 2_499,
    }


def test_ack_and_planogram_round_trip() -> None:
    ack = ack_pb2.Ack(
        store_id="store-1",
        streams=[ack_pb2.StreamAck(stream="receipts", highest_contiguous_sequence=41)],
        event_ids=["f" * 32],
    )
    assert ack_pb2.Ack.FromString(ack.SerializeToString()) == ack
    planogram = config_pb2.Planogram(
        version=4,
        products=[config_pb2.Product(product_id="SKU-1", name="Water", unit_weight_g=350.0)],
        entries=[
            config_pb2.PlanogramEntry(
                product_id="SKU-1",
                plates=[common_pb2.PlateRef(gondola=1, shelf=2, plate=3)],
            )
        ],
    )
    decoded = config_pb2.Planogram.FromString(planogram.SerializeToString())
    assert decoded.entries[0].plates[0].plate == 3
    assert decoded.products[0].unit_weight_g == 350.0


def test_enums_start_with_an_unspecified_zero_value() -> None:
    for module in (events_pb2, config_pb2):
        for enum in module.DESCRIPTOR.enum_types_by_name.values():
            zero = enum.values_by_number[0].name
            assert zero.endswith("_UNSPECIFIED"), f"{enum.name}: {zero}"


# (c) the gRPC service


EXPECTED_METHODS = {
    "ListStores": (False, False),
    "PutPriceBook": (False, False),
    "PutPlanogram": (False, False),
    "GetModel": (False, True),
    "GetFleetHealth": (False, False),
    "ListPriceBooks": (False, False),
    "ListPlanograms": (False, False),
    "ListReceipts": (False, False),
    "GetReceipt": (False, False),
    "StreamReceipts": (False, True),
    "ListReviews": (False, False),
    "ResolveReview": (False, False),
    "GetShopperRecord": (False, False),
}


def test_control_plane_service_descriptor() -> None:
    from walkout.v1 import control_pb2_grpc

    service = control_pb2.DESCRIPTOR.services_by_name["ControlPlane"]
    assert service.full_name == "walkout.v1.ControlPlane"
    methods = {m.name: (m.client_streaming, m.server_streaming) for m in service.methods}
    assert methods == EXPECTED_METHODS
    assert service.methods_by_name["GetModel"].output_type.name == "ModelChunk"
    for name in EXPECTED_METHODS:
        assert callable(getattr(control_pb2_grpc.ControlPlaneServicer, name))
    assert callable(control_pb2_grpc.add_ControlPlaneServicer_to_server)


def test_control_plane_serves_over_grpc() -> None:
    grpc = pytest.importorskip("grpc")
    from walkout.v1 import control_pb2_grpc

    model = bytes(range(256)) * 10

    class Servicer(control_pb2_grpc.ControlPlaneServicer):
        def ListStores(self, request, context):
            return control_pb2.ListStoresResponse(
                stores=[control_pb2.StoreSummary(store_id="store-1", online=True)]
            )

        def GetModel(self, request, context):
            for offset in range(request.offset, len(model), 1000):
                yield control_pb2.ModelChunk(
                    offset=offset, data=model[offset : offset + 1000], total_size_bytes=len(model)
                )

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    control_pb2_grpc.add_ControlPlaneServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = control_pb2_grpc.ControlPlaneStub(channel)
            stores = stub.ListStores(control_pb2.ListStoresRequest(), timeout=10)
            assert [s.store_id for s in stores.stores] == ["store-1"]
            chunks = list(
                stub.GetModel(
                    control_pb2.GetModelRequest(model_name="detector", offset=500), timeout=10
                )
            )
            assert chunks[0].offset == 500
            assert b"".join(c.data for c in chunks) == model[500:]
            with pytest.raises(grpc.RpcError) as excinfo:
                stub.PutPriceBook(control_pb2.PutPriceBookRequest(), timeout=10)
            assert excinfo.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        server.stop(grace=None)
