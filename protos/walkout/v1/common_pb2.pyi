from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class EventHeader(_message.Message):
    __slots__ = ("event_id", "store_id", "stream", "sequence", "event_time_unix_ns", "monotonic_time_s", "schema_version", "session_id")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    STREAM_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_UNIX_NS_FIELD_NUMBER: _ClassVar[int]
    MONOTONIC_TIME_S_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    store_id: str
    stream: str
    sequence: int
    event_time_unix_ns: int
    monotonic_time_s: float
    schema_version: int
    session_id: str
    def __init__(self, event_id: _Optional[str] = ..., store_id: _Optional[str] = ..., stream: _Optional[str] = ..., sequence: _Optional[int] = ..., event_time_unix_ns: _Optional[int] = ..., monotonic_time_s: _Optional[float] = ..., schema_version: _Optional[int] = ..., session_id: _Optional[str] = ...) -> None: ...

class PlateRef(_message.Message):
    __slots__ = ("gondola", "shelf", "plate")
    GONDOLA_FIELD_NUMBER: _ClassVar[int]
    SHELF_FIELD_NUMBER: _ClassVar[int]
    PLATE_FIELD_NUMBER: _ClassVar[int]
    gondola: int
    shelf: int
    plate: int
    def __init__(self, gondola: _Optional[int] = ..., shelf: _Optional[int] = ..., plate: _Optional[int] = ...) -> None: ...

class Money(_message.Message):
    __slots__ = ("currency", "minor_units")
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    MINOR_UNITS_FIELD_NUMBER: _ClassVar[int]
    currency: str
    minor_units: int
    def __init__(self, currency: _Optional[str] = ..., minor_units: _Optional[int] = ...) -> None: ...

class FloorPoint(_message.Message):
    __slots__ = ("x_m", "y_m")
    X_M_FIELD_NUMBER: _ClassVar[int]
    Y_M_FIELD_NUMBER: _ClassVar[int]
    x_m: float
    y_m: float
    def __init__(self, x_m: _Optional[float] = ..., y_m: _Optional[float] = ...) -> None: ...
