"""Record-layer results (cloud/records.py) as walkout.v1 control-plane messages."""

from __future__ import annotations

from typing import Any

from walkout.v1 import config_pb2, control_pb2, events_pb2

from cloud import records


def store_summary(s: records.StoreRecord) -> control_pb2.StoreSummary:
    return control_pb2.StoreSummary(
        store_id=s.store_id,
        online=bool(s.online),
        online_known=s.online is not None,
        last_seen_unix_ns=s.last_seen_unix_ns,
        price_book_version=s.price_book_version,
        planogram_version=s.planogram_version,
        software_version=s.software_version or "",
        outbox_backlog=s.outbox_backlog or 0,
        outbox_oldest_age_s=s.outbox_oldest_age_s or 0.0,
        receipts_total=s.receipts_total,
        reviews_open=s.reviews_open,
        reported_price_book_version=s.reported_price_book_version or 0,
        reported_planogram_version=s.reported_planogram_version or 0,
        versions_reported=s.reported_planogram_version is not None,
    )


def _enum_value(enum: Any, prefix: str, name: str) -> int:
    """The number of a record's enum name (prefix stripped); a bare number stays a number."""
    try:
        return int(enum.Value(prefix + name))
    except ValueError:
        return int(name) if name.isdigit() else 0


def store_health(h: records.FleetHealthRecord) -> control_pb2.StoreHealth:
    out = control_pb2.StoreHealth(
        store=store_summary(h.store), last_heartbeat_age_s=h.heartbeat_age_s or 0.0
    )
    for f in h.active_faults:
        out.faults.add(
            sensor_kind=_enum_value(events_pb2.SensorKind, "SENSOR_KIND_", f.sensor_kind),
            sensor_id=f.sensor_id,
            fault=_enum_value(events_pb2.FaultKind, "FAULT_KIND_", f.fault),
            message=f.message,
            since_unix_ns=f.since_unix_ns,
        )
    return out


def stored_receipt(r: records.ReceiptRecord) -> control_pb2.StoredReceipt:
    """The receipt exactly as stored (the EdgeEvent bytes), not rebuilt from the record."""
    out = control_pb2.StoredReceipt(store_id=r.store_id, stored_unix_ns=r.stored_unix_ns)
    out.receipt.CopyFrom(events_pb2.EdgeEvent.FromString(r.payload).receipt)
    return out


def resolution(res: records.Resolution) -> control_pb2.ReviewResolution:
    return control_pb2.ReviewResolution(
        receipt_id=res.receipt_id,
        original_revision=res.original_revision,
        corrected_revision=res.corrected_revision,
        resolved_by=res.resolved_by,
        note=res.note,
        resolved_at_unix_ns=res.resolved_unix_ns,
        corrected_lines=res.corrected_lines,
    )


def review_item(item: records.ReviewItem) -> control_pb2.ReviewItem:
    out = control_pb2.ReviewItem(receipt=stored_receipt(item.receipt))
    if item.resolution is not None:
        out.resolution.CopyFrom(resolution(item.resolution))
    return out


def stored_price_book(c: records.VersionedConfig) -> control_pb2.StoredPriceBook:
    return control_pb2.StoredPriceBook(
        store_id=c.store_id,
        price_book=config_pb2.PriceBook.FromString(c.payload),
        created_unix_ns=c.created_unix_ns,
    )


def stored_planogram(c: records.VersionedConfig) -> control_pb2.StoredPlanogram:
    return control_pb2.StoredPlanogram(
        store_id=c.store_id,
        planogram=config_pb2.Planogram.FromString(c.payload),
        created_unix_ns=c.created_unix_ns,
    )
