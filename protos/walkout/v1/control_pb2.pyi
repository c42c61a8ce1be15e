from walkout.v1 import config_pb2 as _config_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListStoresRequest(_message.Message):
    __slots__ = ("online_only",)
    ONLINE_ONLY_FIELD_NUMBER: _ClassVar[int]
    online_only: bool
    def __init__(self, online_only: _Optional[bool] = ...) -> None: ...

class StoreSummary(_message.Message):
    __slots__ = ("store_id", "name", "online", "last_seen_unix_ns", "price_book_version", "planogram_version", "software_version", "outbox_backlog")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_UNIX_NS_FIELD_NUMBER: _ClassVar[int]
    PRICE_BOOK_VERSION_FIELD_NUMBER: _ClassVar[int]
    PLANOGRAM_VERSION_FIELD_NUMBER: _ClassVar[int]
    SOFTWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_BACKLOG_FIELD_NUMBER: _ClassVar[int]
    store_id: str
    name: str
    online: bool
    last_seen_unix_ns: int
    price_book_version: int
    planogram_version: int
    software_version: str
    outbox_backlog: int
    def __init__(self, store_id: _Optional[str] = ..., name: _Optional[str] = ..., online: _Optional[bool] = ..., last_seen_unix_ns: _Optional[int] = ..., price_book_version: _Optional[int] = ..., planogram_version: _Optional[int] = ..., software_version: _Optional[str] = ..., outbox_backlog: _Optional[int] = ...) -> None: ...

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
