from walkout.v1 import config_pb2 as _config_pb2
from walkout.v1 import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReviewFilter(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REVIEW_FILTER_UNSPECIFIED: _ClassVar[ReviewFilter]
    REVIEW_FILTER_NEEDS_REVIEW: _ClassVar[ReviewFilter]
    REVIEW_FILTER_CLEAR: _ClassVar[ReviewFilter]
REVIEW_FILTER_UNSPECIFIED: ReviewFilter
REVIEW_FILTER_NEEDS_REVIEW: ReviewFilter
REVIEW_FILTER_CLEAR: ReviewFilter

class ListStoresRequest(_message.Message):
    __slots__ = ("online_only",)
    ONLINE_ONLY_FIELD_NUMBER: _ClassVar[int]
    online_only: bool
    def __init__(self, online_only: _Optional[bool] = ...) -> None: ...

class StoreSummary(_message.Message):
    __slots__ = ("store_id", "name", "online", "last_seen_unix_ns", "price_book_version", "planogram_version", "software_version", "outbox_backlog", "outbox_oldest_age_s", "online_known", "receipts_total", "reviews_open", "reported_price_book_version", "reported_planogram_version", "versions_reported")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_UNIX_NS_FIELD_NUMBER: _ClassVar[int]
    PRICE_BOOK_VERSION_FIELD_NUMBER: _ClassVar[int]
    PLANOGRAM_VERSION_FIELD_NUMBER: _ClassVar[int]
    SOFTWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_BACKLOG_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_OLDEST_AGE_S_FIELD_NUMBER: _ClassVar[int]
    ONLINE_KNOWN_FIELD_NUMBER: _ClassVar[int]
    RECEIPTS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    REVIEWS_OPEN_FIELD_NUMBER: _ClassVar[int]
    REPORTED_PRICE_BOOK_VERSION_FIELD_NUMBER: _ClassVar[int]
    REPORTED_PLANOGRAM_VERSION_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_REPORTED_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    name: str
    online: bool
    last_seen_unix_ns: int
    price_book_version: int
    planogram_version: int
    software_version: str
    outbox_backlog: int
    outbox_oldest_age_s: float
    online_known: bool
    receipts_total: int
    reviews_open: int
    reported_price_book_version: int
    reported_planogram_version: int
    versions_reported: bool
    def __init__(self, store_id: _Optional[str] = ..., name: _Optional[str] = ..., online: _Optional[bool] = ..., last_seen_unix_ns: _Optional[int] = ..., price_book_version: _Optional[int] = ..., planogram_version: _Optional[int] = ..., software_version: _Optional[str] = ..., outbox_backlog: _Optional[int] = ..., outbox_oldest_age_s: _Optional[float] = ..., online_known: _Optional[bool] = ..., receipts_total: _Optional[int] = ..., reviews_open: _Optional[int] = ..., reported_price_book_version: _Optional[int] = ..., reported_planogram_version: _Optional[int] = ..., versions_reported: _Optional[bool] = ...) -> None: ...

class ListStoresResponse(_message.Message):
    __slots__ = ("stores",)
    STORES_FIELD_NUMBER: _ClassVar[int]
    stores: _containers.RepeatedCompositeFieldContainer[StoreSummary]
    def __init__(self, stores: _Optional[_Iterable[_Union[StoreSummary, _Mapping]]] = ...) -> None: ...

class PutPriceBookRequest(_message.Message):
    __slots__ = ("store_ids", "price_book")
    STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    PRICE_BOOK_FIELD_NUMBER: _ClassVar[int]
    store_ids: _containers.RepeatedScalarFieldContainer[str]
    price_book: _config_pb2.PriceBook
    def __init__(self, store_ids: _Optional[_Iterable[str]] = ..., price_book: _Optional[_Union[_config_pb2.PriceBook, _Mapping]] = ...) -> None: ...

class PutPlanogramRequest(_message.Message):
    __slots__ = ("store_ids", "planogram")
    STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    PLANOGRAM_FIELD_NUMBER: _ClassVar[int]
    store_ids: _containers.RepeatedScalarFieldContainer[str]
    planogram: _config_pb2.Planogram
    def __init__(self, store_ids: _Optional[_Iterable[str]] = ..., planogram: _Optional[_Union[_config_pb2.Planogram, _Mapping]] = ...) -> None: ...

class PutConfigResponse(_message.Message):
    __slots__ = ("bundles",)
    BUNDLES_FIELD_NUMBER: _ClassVar[int]
    bundles: _containers.RepeatedCompositeFieldContainer[_config_pb2.SignedBundle]
    def __init__(self, bundles: _Optional[_Iterable[_Union[_config_pb2.SignedBundle, _Mapping]]] = ...) -> None: ...

class GetFleetHealthRequest(_message.Message):
    __slots__ = ("store_ids",)
    STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    store_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, store_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ActiveFault(_message.Message):
    __slots__ = ("sensor_kind", "sensor_id", "fault", "message", "since_unix_ns")
    SENSOR_KIND_FIELD_NUMBER: _ClassVar[int]
    SENSOR_ID_FIELD_NUMBER: _ClassVar[int]
    FAULT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SINCE_UNIX_NS_FIELD_NUMBER: _ClassVar[int]
    sensor_kind: _events_pb2.SensorKind
    sensor_id: str
    fault: _events_pb2.FaultKind
    message: str
    since_unix_ns: int
    def __init__(self, sensor_kind: _Optional[_Union[_events_pb2.SensorKind, str]] = ..., sensor_id: _Optional[str] = ..., fault: _Optional[_Union[_events_pb2.FaultKind, str]] = ..., message: _Optional[str] = ..., since_unix_ns: _Optional[int] = ...) -> None: ...

class StoreHealth(_message.Message):
    __slots__ = ("store", "last_heartbeat_age_s", "faults")
    STORE_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_AGE_S_FIELD_NUMBER: _ClassVar[int]
    FAULTS_FIELD_NUMBER: _ClassVar[int]
    store: StoreSummary
    last_heartbeat_age_s: float
    faults: _containers.RepeatedCompositeFieldContainer[ActiveFault]
    def __init__(self, store: _Optional[_Union[StoreSummary, _Mapping]] = ..., last_heartbeat_age_s: _Optional[float] = ..., faults: _Optional[_Iterable[_Union[ActiveFault, _Mapping]]] = ...) -> None: ...

class GetFleetHealthResponse(_message.Message):
    __slots__ = ("stores", "generated_at_unix_ns")
    STORES_FIELD_NUMBER: _ClassVar[int]
    GENERATED_AT_UNIX_NS_FIELD_NUMBER: _ClassVar[int]
    stores: _containers.RepeatedCompositeFieldContainer[StoreHealth]
    generated_at_unix_ns: int
    def __init__(self, stores: _Optional[_Iterable[_Union[StoreHealth, _Mapping]]] = ..., generated_at_unix_ns: _Optional[int] = ...) -> None: ...

class ListConfigsRequest(_message.Message):
    __slots__ = ("store_ids",)
    STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    store_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, store_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class StoredPriceBook(_message.Message):
    __slots__ = ("store_id", "price_book", "created_unix_ns")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    PRICE_BOOK_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_NS_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    price_book: _config_pb2.PriceBook
    created_unix_ns: int
    def __init__(self, store_id: _Optional[str] = ..., price_book: _Optional[_Union[_config_pb2.PriceBook, _Mapping]] = ..., created_unix_ns: _Optional[int] = ...) -> None: ...

class ListPriceBooksResponse(_message.Message):
    __slots__ = ("price_books",)
    PRICE_BOOKS_FIELD_NUMBER: _ClassVar[int]
    price_books: _containers.RepeatedCompositeFieldContainer[StoredPriceBook]
    def __init__(self, price_books: _Optional[_Iterable[_Union[StoredPriceBook, _Mapping]]] = ...) -> None: ...

class StoredPlanogram(_message.Message):
    __slots__ = ("store_id", "planogram", "created_unix_ns")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    PLANOGRAM_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_NS_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    planogram: _config_pb2.Planogram
    created_unix_ns: int
    def __init__(self, store_id: _Optional[str] = ..., planogram: _Optional[_Union[_config_pb2.Planogram, _Mapping]] = ..., created_unix_ns: _Optional[int] = ...) -> None: ...

class ListPlanogramsResponse(_message.Message):
    __slots__ = ("planograms",)
    PLANOGRAMS_FIELD_NUMBER: _ClassVar[int]
    planograms: _containers.RepeatedCompositeFieldContainer[StoredPlanogram]
    def __init__(self, planograms: _Optional[_Iterable[_Union[StoredPlanogram, _Mapping]]] = ...) -> None: ...

class StoredReceipt(_message.Message):
    __slots__ = ("store_id", "receipt", "stored_unix_ns")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    STORED_UNIX_NS_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    receipt: _events_pb2.Receipt
    stored_unix_ns: int
    def __init__(self, store_id: _Optional[str] = ..., receipt: _Optional[_Union[_events_pb2.Receipt, _Mapping]] = ..., stored_unix_ns: _Optional[int] = ...) -> None: ...

class ListReceiptsRequest(_message.Message):
    __slots__ = ("store_id", "since_unix_ns", "until_unix_ns", "review", "limit")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    SINCE_UNIX_NS_FIELD_NUMBER: _ClassVar[int]
    UNTIL_UNIX_NS_FIELD_NUMBER: _ClassVar[int]
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    since_unix_ns: int
    until_unix_ns: int
    review: ReviewFilter
    limit: int
    def __init__(self, store_id: _Optional[str] = ..., since_unix_ns: _Optional[int] = ..., until_unix_ns: _Optional[int] = ..., review: _Optional[_Union[ReviewFilter, str]] = ..., limit: _Optional[int] = ...) -> None: ...

class ListReceiptsResponse(_message.Message):
    __slots__ = ("receipts",)
    RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    receipts: _containers.RepeatedCompositeFieldContainer[StoredReceipt]
    def __init__(self, receipts: _Optional[_Iterable[_Union[StoredReceipt, _Mapping]]] = ...) -> None: ...

class GetReceiptRequest(_message.Message):
    __slots__ = ("receipt_id", "revision", "by_revision")
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    BY_REVISION_FIELD_NUMBER: _ClassVar[int]
    receipt_id: str
    revision: int
    by_revision: bool
    def __init__(self, receipt_id: _Optional[str] = ..., revision: _Optional[int] = ..., by_revision: _Optional[bool] = ...) -> None: ...

class StreamReceiptsRequest(_message.Message):
    __slots__ = ("store_ids", "since_unix_ns")
    STORE_IDS_FIELD_NUMBER: _ClassVar[int]
    SINCE_UNIX_NS_FIELD_NUMBER: _ClassVar[int]
    store_ids: _containers.RepeatedScalarFieldContainer[str]
    since_unix_ns: int
    def __init__(self, store_ids: _Optional[_Iterable[str]] = ..., since_unix_ns: _Optional[int] = ...) -> None: ...

class ReviewResolution(_message.Message):
    __slots__ = ("receipt_id", "original_revision", "corrected_revision", "resolved_by", "note", "resolved_at_unix_ns", "corrected_lines")
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_REVISION_FIELD_NUMBER: _ClassVar[int]
    CORRECTED_REVISION_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_BY_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_AT_UNIX_NS_FIELD_NUMBER: _ClassVar[int]
    CORRECTED_LINES_FIELD_NUMBER: _ClassVar[int]
    receipt_id: str
    original_revision: int
    corrected_revision: int
    resolved_by: str
    note: str
    resolved_at_unix_ns: int
    corrected_lines: int
    def __init__(self, receipt_id: _Optional[str] = ..., original_revision: _Optional[int] = ..., corrected_revision: _Optional[int] = ..., resolved_by: _Optional[str] = ..., note: _Optional[str] = ..., resolved_at_unix_ns: _Optional[int] = ..., corrected_lines: _Optional[int] = ...) -> None: ...

class ReviewItem(_message.Message):
    __slots__ = ("receipt", "resolution")
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    receipt: StoredReceipt
    resolution: ReviewResolution
    def __init__(self, receipt: _Optional[_Union[StoredReceipt, _Mapping]] = ..., resolution: _Optional[_Union[ReviewResolution, _Mapping]] = ...) -> None: ...

class ListReviewsRequest(_message.Message):
    __slots__ = ("store_id", "include_resolved")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_RESOLVED_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    include_resolved: bool
    def __init__(self, store_id: _Optional[str] = ..., include_resolved: _Optional[bool] = ...) -> None: ...

class ListReviewsResponse(_message.Message):
    __slots__ = ("reviews",)
    REVIEWS_FIELD_NUMBER: _ClassVar[int]
    reviews: _containers.RepeatedCompositeFieldContainer[ReviewItem]
    def __init__(self, reviews: _Optional[_Iterable[_Union[ReviewItem, _Mapping]]] = ...) -> None: ...

class CorrectedLine(_message.Message):
    __slots__ = ("product_id", "quantity")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    quantity: int
    def __init__(self, product_id: _Optional[str] = ..., quantity: _Optional[int] = ...) -> None: ...

class ResolveReviewRequest(_message.Message):
    __slots__ = ("receipt_id", "lines", "resolved_by", "note")
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_BY_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    receipt_id: str
    lines: _containers.RepeatedCompositeFieldContainer[CorrectedLine]
    resolved_by: str
    note: str
    def __init__(self, receipt_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[CorrectedLine, _Mapping]]] = ..., resolved_by: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class ResolveReviewResponse(_message.Message):
    __slots__ = ("corrected", "resolution")
    CORRECTED_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    corrected: StoredReceipt
    resolution: ReviewResolution
    def __init__(self, corrected: _Optional[_Union[StoredReceipt, _Mapping]] = ..., resolution: _Optional[_Union[ReviewResolution, _Mapping]] = ...) -> None: ...

class GetShopperRecordRequest(_message.Message):
    __slots__ = ("shopper_ref",)
    SHOPPER_REF_FIELD_NUMBER: _ClassVar[int]
    shopper_ref: str
    def __init__(self, shopper_ref: _Optional[str] = ...) -> None: ...

class ShopperRecord(_message.Message):
    __slots__ = ("shopper_ref", "receipts")
    SHOPPER_REF_FIELD_NUMBER: _ClassVar[int]
    RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    shopper_ref: str
    receipts: _containers.RepeatedCompositeFieldContainer[StoredReceipt]
    def __init__(self, shopper_ref: _Optional[str] = ..., receipts: _Optional[_Iterable[_Union[StoredReceipt, _Mapping]]] = ...) -> None: ...

class GetModelRequest(_message.Message):
    __slots__ = ("model_name", "version", "offset", "store_id")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    version: str
    offset: int
    store_id: str
    def __init__(self, model_name: _Optional[str] = ..., version: _Optional[str] = ..., offset: _Optional[int] = ..., store_id: _Optional[str] = ...) -> None: ...

class ModelChunk(_message.Message):
    __slots__ = ("offset", "data", "total_size_bytes")
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    offset: int
    data: bytes
    total_size_bytes: int
    def __init__(self, offset: _Optional[int] = ..., data: _Optional[bytes] = ..., total_size_bytes: _Optional[int] = ...) -> None: ...
