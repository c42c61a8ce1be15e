from walkout.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PayloadType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PAYLOAD_TYPE_UNSPECIFIED: _ClassVar[PayloadType]
    PAYLOAD_TYPE_PRICE_BOOK: _ClassVar[PayloadType]
    PAYLOAD_TYPE_PLANOGRAM: _ClassVar[PayloadType]
    PAYLOAD_TYPE_MODEL_RELEASE: _ClassVar[PayloadType]
PAYLOAD_TYPE_UNSPECIFIED: PayloadType
PAYLOAD_TYPE_PRICE_BOOK: PayloadType
PAYLOAD_TYPE_PLANOGRAM: PayloadType
PAYLOAD_TYPE_MODEL_RELEASE: PayloadType

class PriceEntry(_message.Message):
    __slots__ = ("product_id", "unit_price_minor_units")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_MINOR_UNITS_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    unit_price_minor_units: int
    def __init__(self, product_id: _Optional[str] = ..., unit_price_minor_units: _Optional[int] = ...) -> None: ...

class PriceBook(_message.Message):
    __slots__ = ("version", "effective_from_unix_ns", "currency", "prices")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_UNIX_NS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    version: int
    effective_from_unix_ns: int
    currency: str
    prices: _containers.RepeatedCompositeFieldContainer[PriceEntry]
    def __init__(self, version: _Optional[int] = ..., effective_from_unix_ns: _Optional[int] = ..., currency: _Optional[str] = ..., prices: _Optional[_Iterable[_Union[PriceEntry, _Mapping]]] = ...) -> None: ...

class Product(_message.Message):
    __slots__ = ("product_id", "name", "unit_weight_g", "unit_weight_spread_g")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UNIT_WEIGHT_G_FIELD_NUMBER: _ClassVar[int]
    UNIT_WEIGHT_SPREAD_G_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    name: str
    unit_weight_g: float
    unit_weight_spread_g: float
    def __init__(self, product_id: _Optional[str] = ..., name: _Optional[str] = ..., unit_weight_g: _Optional[float] = ..., unit_weight_spread_g: _Optional[float] = ...) -> None: ...

class PlanogramEntry(_message.Message):
    __slots__ = ("product_id", "plates", "units")
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    PLATES_FIELD_NUMBER: _ClassVar[int]
    UNITS_FIELD_NUMBER: _ClassVar[int]
    product_id: str
    plates: _containers.RepeatedCompositeFieldContainer[_common_pb2.PlateRef]
    units: int
    def __init__(self, product_id: _Optional[str] = ..., plates: _Optional[_Iterable[_Union[_common_pb2.PlateRef, _Mapping]]] = ..., units: _Optional[int] = ...) -> None: ...

class Planogram(_message.Message):
    __slots__ = ("version", "effective_from_unix_ns", "products", "entries")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_UNIX_NS_FIELD_NUMBER: _ClassVar[int]
    PRODUCTS_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    version: int
    effective_from_unix_ns: int
    products: _containers.RepeatedCompositeFieldContainer[Product]
    entries: _containers.RepeatedCompositeFieldContainer[PlanogramEntry]
    def __init__(self, version: _Optional[int] = ..., effective_from_unix_ns: _Optional[int] = ..., products: _Optional[_Iterable[_Union[Product, _Mapping]]] = ..., entries: _Optional[_Iterable[_Union[PlanogramEntry, _Mapping]]] = ...) -> None: ...

class ModelRelease(_message.Message):
    __slots__ = ("model_name", "version", "sha256", "size_bytes", "input_width", "input_height", "classes", "format", "created_at_unix_ns")
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    INPUT_WIDTH_FIELD_NUMBER: _ClassVar[int]
    INPUT_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    CLASSES_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_UNIX_NS_FIELD_NUMBER: _ClassVar[int]
    model_name: str
    version: str
    sha256: str
    size_bytes: int
    input_width: int
    input_height: int
    classes: _containers.RepeatedScalarFieldContainer[str]
    format: str
    created_at_unix_ns: int
    def __init__(self, model_name: _Optional[str] = ..., version: _Optional[str] = ..., sha256: _Optional[str] = ..., size_bytes: _Optional[int] = ..., input_width: _Optional[int] = ..., input_height: _Optional[int] = ..., classes: _Optional[_Iterable[str]] = ..., format: _Optional[str] = ..., created_at_unix_ns: _Optional[int] = ...) -> None: ...

class SignedBundle(_message.Message):
    __slots__ = ("payload", "payload_type", "version", "store_id", "key_id", "signature", "issued_at_unix_ns")
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_TYPE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_UNIX_NS_FIELD_NUMBER: _ClassVar[int]
    payload: bytes
    payload_type: PayloadType
    version: int
    store_id: str
    key_id: str
    signature: bytes
    issued_at_unix_ns: int
    def __init__(self, payload: _Optional[bytes] = ..., payload_type: _Optional[_Union[PayloadType, str]] = ..., version: _Optional[int] = ..., store_id: _Optional[str] = ..., key_id: _Optional[str] = ..., signature: _Optional[bytes] = ..., issued_at_unix_ns: _Optional[int] = ...) -> None: ...
