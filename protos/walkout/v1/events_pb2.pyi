from walkout.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VisitEndReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VISIT_END_REASON_UNSPECIFIED: _ClassVar[VisitEndReason]
    VISIT_END_REASON_EXIT_GATE: _ClassVar[VisitEndReason]
    VISIT_END_REASON_TIMEOUT: _ClassVar[VisitEndReason]
    VISIT_END_REASON_TRACK_LOST: _ClassVar[VisitEndReason]
    VISIT_END_REASON_OPERATOR: _ClassVar[VisitEndReason]

class EvidenceSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVIDENCE_SOURCE_UNSPECIFIED: _ClassVar[EvidenceSource]
    EVIDENCE_SOURCE_WEIGHT: _ClassVar[EvidenceSource]
    EVIDENCE_SOURCE_RFID: _ClassVar[EvidenceSource]
    EVIDENCE_SOURCE_OPERATOR: _ClassVar[EvidenceSource]

class CartLineRemovalReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CART_LINE_REMOVAL_REASON_UNSPECIFIED: _ClassVar[CartLineRemovalReason]
    CART_LINE_REMOVAL_REASON_PUT_BACK: _ClassVar[CartLineRemovalReason]
    CART_LINE_REMOVAL_REASON_REATTRIBUTED: _ClassVar[CartLineRemovalReason]
    CART_LINE_REMOVAL_REASON_OPERATOR: _ClassVar[CartLineRemovalReason]

class ReviewReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REVIEW_REASON_UNSPECIFIED: _ClassVar[ReviewReason]
    REVIEW_REASON_LOW_CONFIDENCE: _ClassVar[ReviewReason]
    REVIEW_REASON_AMBIGUOUS_SHOPPER: _ClassVar[ReviewReason]
    REVIEW_REASON_UNEXPLAINED_WEIGHT: _ClassVar[ReviewReason]
    REVIEW_REASON_SENSOR_FAULT: _ClassVar[ReviewReason]
    REVIEW_REASON_TRACK_LOST: _ClassVar[ReviewReason]
    REVIEW_REASON_PRICE_MISSING: _ClassVar[ReviewReason]
    REVIEW_REASON_NO_EXIT: _ClassVar[ReviewReason]

class SensorKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SENSOR_KIND_UNSPECIFIED: _ClassVar[SensorKind]
    SENSOR_KIND_LOAD_CELL: _ClassVar[SensorKind]
    SENSOR_KIND_SHELF_CONTROLLER: _ClassVar[SensorKind]
    SENSOR_KIND_CAMERA: _ClassVar[SensorKind]
    SENSOR_KIND_READER: _ClassVar[SensorKind]

class FaultKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FAULT_KIND_UNSPECIFIED: _ClassVar[FaultKind]
    FAULT_KIND_STUCK: _ClassVar[FaultKind]
    FAULT_KIND_DRIFT: _ClassVar[FaultKind]
    FAULT_KIND_NOISY: _ClassVar[FaultKind]
    FAULT_KIND_SATURATED: _ClassVar[FaultKind]
    FAULT_KIND_DISCONNECTED: _ClassVar[FaultKind]
    FAULT_KIND_CRC_ERRORS: _ClassVar[FaultKind]
    FAULT_KIND_TIMEOUT: _ClassVar[FaultKind]
    FAULT_KIND_FROZEN_CAMERA: _ClassVar[FaultKind]
    FAULT_KIND_LOW_FRAME_RATE: _ClassVar[FaultKind]

class SubsystemState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SUBSYSTEM_STATE_UNSPECIFIED: _ClassVar[SubsystemState]
    SUBSYSTEM_STATE_STARTING: _ClassVar[SubsystemState]
    SUBSYSTEM_STATE_OK: _ClassVar[SubsystemState]
    SUBSYSTEM_STATE_DEGRADED: _ClassVar[SubsystemState]
    SUBSYSTEM_STATE_FAILED: _ClassVar[SubsystemState]
    SUBSYSTEM_STATE_STOPPED: _ClassVar[SubsystemState]
VISIT_END_REASON_UNSPECIFIED: VisitEndReason
VISIT_END_REASON_EXIT_GATE: VisitEndReason
VISIT_END_REASON_TIMEOUT: VisitEndReason
VISIT_END_REASON_TRACK_LOST: VisitEndReason
VISIT_END_REASON_OPERATOR: VisitEndReason
EVIDENCE_SOURCE_UNSPECIFIED: EvidenceSource
EVIDENCE_SOURCE_WEIGHT: EvidenceSource
EVIDENCE_SOURCE_RFID: EvidenceSource
EVIDENCE_SOURCE_OPERATOR: EvidenceSource
CART_LINE_REMOVAL_REASON_UNSPECIFIED: CartLineRemovalReason
CART_LINE_REMOVAL_REASON_PUT_BACK: CartLineRemovalReason
CART_LINE_REMOVAL_REASON_REATTRIBUTED: CartLineRemovalReason
CART_LINE_REMOVAL_REASON_OPERATOR: CartLineRemovalReason
REVIEW_REASON_UNSPECIFIED: ReviewReason
REVIEW_REASON_LOW_CONFIDENCE: ReviewReason
REVIEW_REASON_AMBIGUOUS_SHOPPER: ReviewReason
REVIEW_REASON_UNEXPLAINED_WEIGHT: ReviewReason
REVIEW_REASON_SENSOR_FAULT: ReviewReason
REVIEW_REASON_TRACK_LOST: ReviewReason
REVIEW_REASON_PRICE_MISSING: ReviewReason
REVIEW_REASON_NO_EXIT: ReviewReason
SENSOR_KIND_UNSPECIFIED: SensorKind
SENSOR_KIND_LOAD_CELL: SensorKind
SENSOR_KIND_SHELF_CONTROLLER: SensorKind
SENSOR_KIND_CAMERA: SensorKind
SENSOR_KIND_READER: SensorKind
FAULT_KIND_UNSPECIFIED: FaultKind
FAULT_KIND_STUCK: FaultKind
FAULT_KIND_DRIFT: FaultKind
FAULT_KIND_NOISY: FaultKind
FAULT_KIND_SATURATED: FaultKind
FAULT_KIND_DISCONNECTED: FaultKind
FAULT_KIND_CRC_ERRORS: FaultKind
FAULT_KIND_TIMEOUT: FaultKind
FAULT_KIND_FROZEN_CAMERA: FaultKind
FAULT_KIND_LOW_FRAME_RATE: FaultKind
SUBSYSTEM_STATE_UNSPECIFIED: SubsystemState
SUBSYSTEM_STATE_STARTING: SubsystemState
SUBSYSTEM_STATE_OK: SubsystemState
SUBSYSTEM_STATE_DEGRADED: SubsystemState
SUBSYSTEM_STATE_FAILED: SubsystemState
SUBSYSTEM_STATE_STOPPED: SubsystemState

class EdgeEvent(_message.Message):
    __slots__ = ("header", "visit_started", "visit_ended", "shelf_event", "cart_line_added", "cart_line_removed", "receipt", "sensor_fault", "heartbeat", "evidence_clip")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    VISIT_STARTED_FIELD_NUMBER: _ClassVar[int]
    VISIT_ENDED_FIELD_NUMBER: _ClassVar[int]
    SHELF_EVENT_FIELD_NUMBER: _ClassVar[int]
    CART_LINE_ADDED_FIELD_NUMBER: _ClassVar[int]
    CART_LINE_REMOVED_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    SENSOR_FAULT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_CLIP_FIELD_NUMBER: _ClassVar[int]
    header: _common_pb2.EventHeader
    visit_started: VisitStarted
    visit_ended: VisitEnded
    shelf_event: ShelfEvent
    cart_line_added: CartLineAdded
    cart_line_removed: CartLineRemoved
    receipt: Receipt
    sensor_fault: SensorFault
    heartbeat: Heartbeat
    evidence_clip: EvidenceClip
    def __init__(self, header: _Optional[_Union[_common_pb2.EventHeader, _Mapping]] = ..., visit_started: _Optional[_Union[VisitStarted, _Mapping]] = ..., visit_ended: _Optional[_Union[VisitEnded, _Mapping]] = ..., shelf_event: _Optional[_Union[ShelfEvent, _Mapping]] = ..., cart_line_added: _Optional[_Union[CartLineAdded, _Mapping]] = ..., cart_line_removed: _Optional[_Union[CartLineRemoved, _Mapping]] = ..., receipt: _Optional[_Union[Receipt, _Mapping]] = ..., sensor_fault: _Optional[_Union[SensorFault, _Mapping]] = ..., heartbeat: _Optional[_Union[Heartbeat, _Mapping]] = ..., evidence_clip: _Optional[_Union[EvidenceClip, _Mapping]] = ...) -> None: ...

class VisitStarted(_message.Message):
    __slots__ = ("visit_id", "gate_id", "shopper_ref", "entry_point", "track_id")
    VISIT_ID_FIELD_NUMBER: _ClassVar[int]
    GATE_ID_FIELD_NUMBER: _ClassVar[int]
    SHOPPER_REF_FIELD_NUMBER: _ClassVar[int]
    ENTRY_POINT_FIELD_NUMBER: _ClassVar[int]
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    visit_id: str
    gate_id: str
    shopper_ref: str
    entry_point: _common_pb2.FloorPoint
    track_id: int
    def __init__(self, visit_id: _Optional[str] = ..., gate_id: _Optional[str] = ..., shopper_ref: _Optional[str] = ..., entry_point: _Optional[_Union[_common_pb2.FloorPoint, _Mapping]] = ..., track_id: _Optional[int] = ...) -> None: ...

class VisitEnded(_message.Message):
    __slots__ = ("visit_id", "gate_id", "reason", "duration_s", "receipt_id")
    VISIT_ID_FIELD_NUMBER: _ClassVar[int]
    GATE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    visit_id: str
    gate_id: str
    reason: VisitEndReason
    duration_s: float
    receipt_id: str
    def __init__(self, visit_id: _Optional[str] = ..., gate_id: _Optional[str] = ..., reason: _Optional[_Union[VisitEndReason, str]] = ..., duration_s: _Optional[float] = ..., receipt_id: _Optional[str] = ...) -> None: ...

class PlateChange(_message.Message):
    __slots__ = ("plate", "delta_grams")
    PLATE_FIELD_NUMBER: _ClassVar[int]
    DELTA_GRAMS_FIELD_NUMBER: _ClassVar[int]
    plate: int
    delta_grams: float
    def __init__(self, plate: _Optional[int] = ..., delta_grams: _Optional[float] = ...) -> None: ...

class ProductCandidate(_message.Message):
    __slots__ = ("product_id", "name", "quantity", "likelihood")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    LIKELIHOOD_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    name: str
    quantity: int
    likelihood: float
    def __init__(self, product_id: _Optional[str] = ..., name: _Optional[str] = ..., quantity: _Optional[int] = ..., likelihood: _Optional[float] = ...) -> None: ...

class ShelfEvent(_message.Message):
    __slots__ = ("t_start_s", "t_end_s", "gondola", "shelf", "plates", "delta_grams", "candidates")
    T_START_S_FIELD_NUMBER: _ClassVar[int]
    T_END_S_FIELD_NUMBER: _ClassVar[int]
    GONDOLA_FIELD_NUMBER: _ClassVar[int]
    SHELF_FIELD_NUMBER: _ClassVar[int]
    PLATES_FIELD_NUMBER: _ClassVar[int]
    DELTA_GRAMS_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    t_start_s: float
    t_end_s: float
    gondola: int
    shelf: int
    plates: _containers.RepeatedCompositeFieldContainer[PlateChange]
    delta_grams: float
    candidates: _containers.RepeatedCompositeFieldContainer[ProductCandidate]
    def __init__(self, t_start_s: _Optional[float] = ..., t_end_s: _Optional[float] = ..., gondola: _Optional[int] = ..., shelf: _Optional[int] = ..., plates: _Optional[_Iterable[_Union[PlateChange, _Mapping]]] = ..., delta_grams: _Optional[float] = ..., candidates: _Optional[_Iterable[_Union[ProductCandidate, _Mapping]]] = ...) -> None: ...

class Hypothesis(_message.Message):
    __slots__ = ("visit_id", "track_id", "product_id", "quantity", "shopper_distance_m", "likelihood")
    VISIT_ID_FIELD_NUMBER: _ClassVar[int]
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    SHOPPER_DISTANCE_M_FIELD_NUMBER: _ClassVar[int]
    LIKELIHOOD_FIELD_NUMBER: _ClassVar[int]
    visit_id: str
    track_id: int
    product_id: str
    quantity: int
    shopper_distance_m: float
    likelihood: float
    def __init__(self, visit_id: _Optional[str] = ..., track_id: _Optional[int] = ..., product_id: _Optional[str] = ..., quantity: _Optional[int] = ..., shopper_distance_m: _Optional[float] = ..., likelihood: _Optional[float] = ...) -> None: ...

class Evidence(_message.Message):
    __slots__ = ("source", "shelf_event_id", "delta_grams", "shopper_distance_m", "track_id", "confidence", "competing", "shopper_position", "reader_id", "tag_id")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SHELF_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    DELTA_GRAMS_FIELD_NUMBER: _ClassVar[int]
    SHOPPER_DISTANCE_M_FIELD_NUMBER: _ClassVar[int]
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    COMPETING_FIELD_NUMBER: _ClassVar[int]
    SHOPPER_POSITION_FIELD_NUMBER: _ClassVar[int]
    READER_ID_FIELD_NUMBER: _ClassVar[int]
    TAG_ID_FIELD_NUMBER: _ClassVar[int]
    source: EvidenceSource
    shelf_event_id: str
    delta_grams: float
    shopper_distance_m: float
    track_id: int
    confidence: float
    competing: _containers.RepeatedCompositeFieldContainer[Hypothesis]
    shopper_position: _common_pb2.FloorPoint
    reader_id: str
    tag_id: str
    def __init__(self, source: _Optional[_Union[EvidenceSource, str]] = ..., shelf_event_id: _Optional[str] = ..., delta_grams: _Optional[float] = ..., shopper_distance_m: _Optional[float] = ..., track_id: _Optional[int] = ..., confidence: _Optional[float] = ..., competing: _Optional[_Iterable[_Union[Hypothesis, _Mapping]]] = ..., shopper_position: _Optional[_Union[_common_pb2.FloorPoint, _Mapping]] = ..., reader_id: _Optional[str] = ..., tag_id: _Optional[str] = ...) -> None: ...

class CartLineAdded(_message.Message):
    __slots__ = ("visit_id", "line_id", "product_id", "name", "quantity", "evidence")
    VISIT_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    visit_id: str
    line_id: int
    product_id: str
    name: str
    quantity: int
    evidence: Evidence
    def __init__(self, visit_id: _Optional[str] = ..., line_id: _Optional[int] = ..., product_id: _Optional[str] = ..., name: _Optional[str] = ..., quantity: _Optional[int] = ..., evidence: _Optional[_Union[Evidence, _Mapping]] = ...) -> None: ...

class CartLineRemoved(_message.Message):
    __slots__ = ("visit_id", "line_id", "product_id", "name", "quantity", "evidence", "reason")
    VISIT_ID_FIELD_NUMBER: _ClassVar[int]
    LINE_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    visit_id: str
    line_id: int
    product_id: str
    name: str
    quantity: int
    evidence: Evidence
    reason: CartLineRemovalReason
    def __init__(self, visit_id: _Optional[str] = ..., line_id: _Optional[int] = ..., product_id: _Optional[str] = ..., name: _Optional[str] = ..., quantity: _Optional[int] = ..., evidence: _Optional[_Union[Evidence, _Mapping]] = ..., reason: _Optional[_Union[CartLineRemovalReason, str]] = ...) -> None: ...

class ReceiptLine(_message.Message):
    __slots__ = ("product_id", "name", "quantity", "unit_price", "line_total", "evidence")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    LINE_TOTAL_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    name: str
    quantity: int
    unit_price: _common_pb2.Money
    line_total: _common_pb2.Money
    evidence: _containers.RepeatedCompositeFieldContainer[Evidence]
    def __init__(self, product_id: _Optional[str] = ..., name: _Optional[str] = ..., quantity: _Optional[int] = ..., unit_price: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., line_total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., evidence: _Optional[_Iterable[_Union[Evidence, _Mapping]]] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("receipt_id", "visit_id", "lines", "total", "price_book_version", "planogram_version", "needs_review", "review_reasons", "review_note", "revision", "shopper_ref", "entered_at_unix_ns", "exited_at_unix_ns")
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    VISIT_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PRICE_BOOK_VERSION_FIELD_NUMBER: _ClassVar[int]
    PLANOGRAM_VERSION_FIELD_NUMBER: _ClassVar[int]
    NEEDS_REVIEW_FIELD_NUMBER: _ClassVar[int]
    REVIEW_REASONS_FIELD_NUMBER: _ClassVar[int]
    REVIEW_NOTE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    SHOPPER_REF_FIELD_NUMBER: _ClassVar[int]
    ENTERED_AT_UNIX_NS_FIELD_NUMBER: _ClassVar[int]
    EXITED_AT_UNIX_NS_FIELD_NUMBER: _ClassVar[int]
    receipt_id: str
    visit_id: str
    lines: _containers.RepeatedCompositeFieldContainer[ReceiptLine]
    total: _common_pb2.Money
    price_book_version: int
    planogram_version: int
    needs_review: bool
    review_reasons: _containers.RepeatedScalarFieldContainer[ReviewReason]
    review_note: str
    revision: int
    shopper_ref: str
    entered_at_unix_ns: int
    exited_at_unix_ns: int
    def __init__(self, receipt_id: _Optional[str] = ..., visit_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[ReceiptLine, _Mapping]]] = ..., total: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., price_book_version: _Optional[int] = ..., planogram_version: _Optional[int] = ..., needs_review: _Optional[bool] = ..., review_reasons: _Optional[_Iterable[_Union[ReviewReason, str]]] = ..., review_note: _Optional[str] = ..., revision: _Optional[int] = ..., shopper_ref: _Optional[str] = ..., entered_at_unix_ns: _Optional[int] = ..., exited_at_unix_ns: _Optional[int] = ...) -> None: ...

class SensorFault(_message.Message):
    __slots__ = ("sensor_kind", "sensor_id", "fault", "message", "active", "plate")
    SENSOR_KIND_FIELD_NUMBER: _ClassVar[int]
    SENSOR_ID_FIELD_NUMBER: _ClassVar[int]
    FAULT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    PLATE_FIELD_NUMBER: _ClassVar[int]
    sensor_kind: SensorKind
    sensor_id: str
    fault: FaultKind
    message: str
    active: bool
    plate: _common_pb2.PlateRef
    def __init__(self, sensor_kind: _Optional[_Union[SensorKind, str]] = ..., sensor_id: _Optional[str] = ..., fault: _Optional[_Union[FaultKind, str]] = ..., message: _Optional[str] = ..., active: _Optional[bool] = ..., plate: _Optional[_Union[_common_pb2.PlateRef, _Mapping]] = ...) -> None: ...

class SubsystemStatus(_message.Message):
    __slots__ = ("name", "state", "detail", "last_progress_age_s")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    LAST_PROGRESS_AGE_S_FIELD_NUMBER: _ClassVar[int]
    name: str
    state: SubsystemState
    detail: str
    last_progress_age_s: float
    def __init__(self, name: _Optional[str] = ..., state: _Optional[_Union[SubsystemState, str]] = ..., detail: _Optional[str] = ..., last_progress_age_s: _Optional[float] = ...) -> None: ...

class ModelVersion(_message.Message):
    __slots__ = ("model_name", "version", "sha256")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    version: str
    sha256: str
    def __init__(self, model_name: _Optional[str] = ..., version: _Optional[str] = ..., sha256: _Optional[str] = ...) -> None: ...

class Heartbeat(_message.Message):
    __slots__ = ("subsystems", "outbox_backlog", "outbox_oldest_age_s", "software_version", "price_book_version", "planogram_version", "models", "config_sha256", "uptime_s", "open_visits", "active_faults", "interval_s", "store_state")
    SUBSYSTEMS_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_BACKLOG_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_OLDEST_AGE_S_FIELD_NUMBER: _ClassVar[int]
    SOFTWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    PRICE_BOOK_VERSION_FIELD_NUMBER: _ClassVar[int]
    PLANOGRAM_VERSION_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_SHA256_FIELD_NUMBER: _ClassVar[int]
    UPTIME_S_FIELD_NUMBER: _ClassVar[int]
    OPEN_VISITS_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FAULTS_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_S_FIELD_NUMBER: _ClassVar[int]
    STORE_STATE_FIELD_NUMBER: _ClassVar[int]
    subsystems: _containers.RepeatedCompositeFieldContainer[SubsystemStatus]
    outbox_backlog: int
    outbox_oldest_age_s: float
    software_version: str
    price_book_version: int
    planogram_version: int
    models: _containers.RepeatedCompositeFieldContainer[ModelVersion]
    config_sha256: str
    uptime_s: float
    open_visits: int
    active_faults: int
    interval_s: float
    store_state: StoreState
    def __init__(self, subsystems: _Optional[_Iterable[_Union[SubsystemStatus, _Mapping]]] = ..., outbox_backlog: _Optional[int] = ..., outbox_oldest_age_s: _Optional[float] = ..., software_version: _Optional[str] = ..., price_book_version: _Optional[int] = ..., planogram_version: _Optional[int] = ..., models: _Optional[_Iterable[_Union[ModelVersion, _Mapping]]] = ..., config_sha256: _Optional[str] = ..., uptime_s: _Optional[float] = ..., open_visits: _Optional[int] = ..., active_faults: _Optional[int] = ..., interval_s: _Optional[float] = ..., store_state: _Optional[_Union[StoreState, _Mapping]] = ...) -> None: ...

class StoreState(_message.Message):
    __slots__ = ("ready", "not_ready_reasons", "sensors", "shelf_controllers", "faulty_plates", "tracks", "open_visits", "link_connected", "session_t", "review_queue")
    READY_FIELD_NUMBER: _ClassVar[int]
    NOT_READY_REASONS_FIELD_NUMBER: _ClassVar[int]
    SENSORS_FIELD_NUMBER: _ClassVar[int]
    SHELF_CONTROLLERS_FIELD_NUMBER: _ClassVar[int]
    FAULTY_PLATES_FIELD_NUMBER: _ClassVar[int]
    TRACKS_FIELD_NUMBER: _ClassVar[int]
    OPEN_VISITS_FIELD_NUMBER: _ClassVar[int]
    LINK_CONNECTED_FIELD_NUMBER: _ClassVar[int]
    SESSION_T_FIELD_NUMBER: _ClassVar[int]
    REVIEW_QUEUE_FIELD_NUMBER: _ClassVar[int]
    ready: bool
    not_ready_reasons: _containers.RepeatedScalarFieldContainer[str]
    sensors: _containers.RepeatedCompositeFieldContainer[SensorState]
    shelf_controllers: _containers.RepeatedCompositeFieldContainer[ShelfControllerState]
    faulty_plates: _containers.RepeatedCompositeFieldContainer[PlateFault]
    tracks: _containers.RepeatedCompositeFieldContainer[TrackPosition]
    open_visits: _containers.RepeatedCompositeFieldContainer[OpenVisit]
    link_connected: bool
    session_t: float
    review_queue: int
    def __init__(self, ready: _Optional[bool] = ..., not_ready_reasons: _Optional[_Iterable[str]] = ..., sensors: _Optional[_Iterable[_Union[SensorState, _Mapping]]] = ..., shelf_controllers: _Optional[_Iterable[_Union[ShelfControllerState, _Mapping]]] = ..., faulty_plates: _Optional[_Iterable[_Union[PlateFault, _Mapping]]] = ..., tracks: _Optional[_Iterable[_Union[TrackPosition, _Mapping]]] = ..., open_visits: _Optional[_Iterable[_Union[OpenVisit, _Mapping]]] = ..., link_connected: _Optional[bool] = ..., session_t: _Optional[float] = ..., review_queue: _Optional[int] = ...) -> None: ...

class SensorState(_message.Message):
    __slots__ = ("id", "kind", "state", "data_age_s", "fps", "faults", "last_error", "dropped_frames")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    DATA_AGE_S_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    FAULTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    DROPPED_FRAMES_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    state: str
    data_age_s: float
    fps: float
    faults: int
    last_error: str
    dropped_frames: int
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., state: _Optional[str] = ..., data_age_s: _Optional[float] = ..., fps: _Optional[float] = ..., faults: _Optional[int] = ..., last_error: _Optional[str] = ..., dropped_frames: _Optional[int] = ...) -> None: ...

class ShelfControllerState(_message.Message):
    __slots__ = ("port", "frames_ok", "crc_errors", "frames_lost", "bytes_discarded")
    PORT_FIELD_NUMBER: _ClassVar[int]
    FRAMES_OK_FIELD_NUMBER: _ClassVar[int]
    CRC_ERRORS_FIELD_NUMBER: _ClassVar[int]
    FRAMES_LOST_FIELD_NUMBER: _ClassVar[int]
    BYTES_DISCARDED_FIELD_NUMBER: _ClassVar[int]
    port: str
    frames_ok: int
    crc_errors: int
    frames_lost: int
    bytes_discarded: int
    def __init__(self, port: _Optional[str] = ..., frames_ok: _Optional[int] = ..., crc_errors: _Optional[int] = ..., frames_lost: _Optional[int] = ..., bytes_discarded: _Optional[int] = ...) -> None: ...

class PlateFault(_message.Message):
    __slots__ = ("plate_id", "kind")
    PLATE_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    plate_id: str
    kind: str
    def __init__(self, plate_id: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...

class TrackPosition(_message.Message):
    __slots__ = ("track_id", "x_m", "y_m", "visit_id")
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    X_M_FIELD_NUMBER: _ClassVar[int]
    Y_M_FIELD_NUMBER: _ClassVar[int]
    VISIT_ID_FIELD_NUMBER: _ClassVar[int]
    track_id: int
    x_m: float
    y_m: float
    visit_id: str
    def __init__(self, track_id: _Optional[int] = ..., x_m: _Optional[float] = ..., y_m: _Optional[float] = ..., visit_id: _Optional[str] = ...) -> None: ...

class OpenVisit(_message.Message):
    __slots__ = ("visit_id", "track_ids", "opened_t", "needs_review")
    VISIT_ID_FIELD_NUMBER: _ClassVar[int]
    TRACK_IDS_FIELD_NUMBER: _ClassVar[int]
    OPENED_T_FIELD_NUMBER: _ClassVar[int]
    NEEDS_REVIEW_FIELD_NUMBER: _ClassVar[int]
    visit_id: str
    track_ids: _containers.RepeatedScalarFieldContainer[int]
    opened_t: float
    needs_review: bool
    def __init__(self, visit_id: _Optional[str] = ..., track_ids: _Optional[_Iterable[int]] = ..., opened_t: _Optional[float] = ..., needs_review: _Optional[bool] = ...) -> None: ...

class EvidenceClip(_message.Message):
    __slots__ = ("receipt_id", "visit_id", "items")
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    VISIT_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    receipt_id: str
    visit_id: str
    items: _containers.RepeatedCompositeFieldContainer[EvidenceClipItem]
    def __init__(self, receipt_id: _Optional[str] = ..., visit_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[EvidenceClipItem, _Mapping]]] = ...) -> None: ...

class EvidenceClipItem(_message.Message):
    __slots__ = ("shelf_event_id", "gondola", "shelf", "reason", "product_id", "quantity", "chosen_visit_id", "chosen_track_id", "t_start_s", "t_end_s", "window_start_s", "window_end_s", "total", "plates", "tracks", "shelf_front_a", "shelf_front_b")
    SHELF_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    GONDOLA_FIELD_NUMBER: _ClassVar[int]
    SHELF_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    CHOSEN_VISIT_ID_FIELD_NUMBER: _ClassVar[int]
    CHOSEN_TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    T_START_S_FIELD_NUMBER: _ClassVar[int]
    T_END_S_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_S_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_S_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    PLATES_FIELD_NUMBER: _ClassVar[int]
    TRACKS_FIELD_NUMBER: _ClassVar[int]
    SHELF_FRONT_A_FIELD_NUMBER: _ClassVar[int]
    SHELF_FRONT_B_FIELD_NUMBER: _ClassVar[int]
    shelf_event_id: str
    gondola: int
    shelf: int
    reason: str
    product_id: str
    quantity: int
    chosen_visit_id: str
    chosen_track_id: int
    t_start_s: float
    t_end_s: float
    window_start_s: float
    window_end_s: float
    total: WeightTrace
    plates: _containers.RepeatedCompositeFieldContainer[PlateTrace]
    tracks: _containers.RepeatedCompositeFieldContainer[ClipTrack]
    shelf_front_a: _common_pb2.FloorPoint
    shelf_front_b: _common_pb2.FloorPoint
    def __init__(self, shelf_event_id: _Optional[str] = ..., gondola: _Optional[int] = ..., shelf: _Optional[int] = ..., reason: _Optional[str] = ..., product_id: _Optional[str] = ..., quantity: _Optional[int] = ..., chosen_visit_id: _Optional[str] = ..., chosen_track_id: _Optional[int] = ..., t_start_s: _Optional[float] = ..., t_end_s: _Optional[float] = ..., window_start_s: _Optional[float] = ..., window_end_s: _Optional[float] = ..., total: _Optional[_Union[WeightTrace, _Mapping]] = ..., plates: _Optional[_Iterable[_Union[PlateTrace, _Mapping]]] = ..., tracks: _Optional[_Iterable[_Union[ClipTrack, _Mapping]]] = ..., shelf_front_a: _Optional[_Union[_common_pb2.FloorPoint, _Mapping]] = ..., shelf_front_b: _Optional[_Union[_common_pb2.FloorPoint, _Mapping]] = ...) -> None: ...

class WeightTrace(_message.Message):
    __slots__ = ("t_s", "grams")
    T_S_FIELD_NUMBER: _ClassVar[int]
    GRAMS_FIELD_NUMBER: _ClassVar[int]
    t_s: _containers.RepeatedScalarFieldContainer[float]
    grams: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, t_s: _Optional[_Iterable[float]] = ..., grams: _Optional[_Iterable[float]] = ...) -> None: ...

class PlateTrace(_message.Message):
    __slots__ = ("plate", "trace")
    PLATE_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    plate: int
    trace: WeightTrace
    def __init__(self, plate: _Optional[int] = ..., trace: _Optional[_Union[WeightTrace, _Mapping]] = ...) -> None: ...

class ClipTrack(_message.Message):
    __slots__ = ("track_id", "visit_id", "chosen", "points")
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    VISIT_ID_FIELD_NUMBER: _ClassVar[int]
    CHOSEN_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    track_id: int
    visit_id: str
    chosen: bool
    points: _containers.RepeatedCompositeFieldContainer[ClipTrackPoint]
    def __init__(self, track_id: _Optional[int] = ..., visit_id: _Optional[str] = ..., chosen: _Optional[bool] = ..., points: _Optional[_Iterable[_Union[ClipTrackPoint, _Mapping]]] = ...) -> None: ...

class ClipTrackPoint(_message.Message):
    __slots__ = ("t_s", "x_m", "y_m", "hands")
    T_S_FIELD_NUMBER: _ClassVar[int]
    X_M_FIELD_NUMBER: _ClassVar[int]
    Y_M_FIELD_NUMBER: _ClassVar[int]
    HANDS_FIELD_NUMBER: _ClassVar[int]
    t_s: float
    x_m: float
    y_m: float
    hands: _containers.RepeatedCompositeFieldContainer[ClipHand]
    def __init__(self, t_s: _Optional[float] = ..., x_m: _Optional[float] = ..., y_m: _Optional[float] = ..., hands: _Optional[_Iterable[_Union[ClipHand, _Mapping]]] = ...) -> None: ...

class ClipHand(_message.Message):
    __slots__ = ("x_m", "y_m", "z_m")
    X_M_FIELD_NUMBER: _ClassVar[int]
    Y_M_FIELD_NUMBER: _ClassVar[int]
    Z_M_FIELD_NUMBER: _ClassVar[int]
    x_m: float
    y_m: float
    z_m: float
    def __init__(self, x_m: _Optional[float] = ..., y_m: _Optional[float] = ..., z_m: _Optional[float] = ...) -> None: ...
