from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StreamAck(_message.Message):
    __slots__ = ("stream", "highest_contiguous_sequence")
    STREAM_FIELD_NUMBER: _ClassVar[int]
    HIGHEST_CONTIGUOUS_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    stream: str
    highest_contiguous_sequence: int
    def __init__(self, stream: _Optional[str] = ..., highest_contiguous_sequence: _Optional[int] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("store_id", "streams", "event_ids", "acked_at_unix_ns")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    STREAMS_FIELD_NUMBER: _ClassVar[int]
    EVENT_IDS_FIELD_NUMBER: _ClassVar[int]
    ACKED_AT_UNIX_NS_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    streams: _containers.RepeatedCompositeFieldContainer[StreamAck]
    event_ids: _containers.RepeatedScalarFieldContainer[str]
    acked_at_unix_ns: int
    def __init__(self, store_id: _Optional[str] = ..., streams: _Optional[_Iterable[_Union[StreamAck, _Mapping]]] = ..., event_ids: _Optional[_Iterable[str]] = ..., acked_at_unix_ns: _Optional[int] = ...) -> None: ...
