from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BackendTls(_message.Message):
    __slots__ = ["ca_pem", "client_certificate", "insecure_skip_verify", "server_name"]
    CA_PEM_FIELD_NUMBER: _ClassVar[int]
    CLIENT_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    INSECURE_SKIP_VERIFY_FIELD_NUMBER: _ClassVar[int]
    SERVER_NAME_FIELD_NUMBER: _ClassVar[int]
    ca_pem: str
    client_certificate: str
    insecure_skip_verify: bool
    server_name: str
    def __init__(self, ca_pem: _Optional[str] = ..., client_certificate: _Optional[str] = ..., server_name: _Optional[str] = ..., insecure_skip_verify: bool = ...) -> None: ...

class CircuitBreaker(_message.Message):
    __slots__ = ["max_concurrent_calls", "max_pending_calls"]
    MAX_CONCURRENT_CALLS_FIELD_NUMBER: _ClassVar[int]
    MAX_PENDING_CALLS_FIELD_NUMBER: _ClassVar[int]
    max_concurrent_calls: int
    max_pending_calls: int
    def __init__(self, max_concurrent_calls: _Optional[int] = ..., max_pending_calls: _Optional[int] = ...) -> None: ...

class CorsConfiguration(_message.Message):
    __slots__ = ["allow_credentials", "allow_headers", "allow_methods", "allow_origins", "expose_headers", "max_age_seconds"]
    ALLOW_CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_HEADERS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_METHODS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_ORIGINS_FIELD_NUMBER: _ClassVar[int]
    EXPOSE_HEADERS_FIELD_NUMBER: _ClassVar[int]
    MAX_AGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    allow_credentials: bool
    allow_headers: _containers.RepeatedScalarFieldContainer[str]
    allow_methods: _containers.RepeatedScalarFieldContainer[str]
    allow_origins: _containers.RepeatedScalarFieldContainer[str]
    expose_headers: _containers.RepeatedScalarFieldContainer[str]
    max_age_seconds: int
    def __init__(self, allow_origins: _Optional[_Iterable[str]] = ..., allow_methods: _Optional[_Iterable[str]] = ..., allow_headers: _Optional[_Iterable[str]] = ..., expose_headers: _Optional[_Iterable[str]] = ..., max_age_seconds: _Optional[int] = ..., allow_credentials: bool = ...) -> None: ...

class GrpcIntegration(_message.Message):
    __slots__ = ["authority", "backend_tls", "circuit_breaker", "connect_timeout", "health_check", "load_balancing", "method", "outlier_detection", "target", "targets", "tls"]
    AUTHORITY_FIELD_NUMBER: _ClassVar[int]
    BACKEND_TLS_FIELD_NUMBER: _ClassVar[int]
    CIRCUIT_BREAKER_FIELD_NUMBER: _ClassVar[int]
    CONNECT_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_FIELD_NUMBER: _ClassVar[int]
    LOAD_BALANCING_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    OUTLIER_DETECTION_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    TLS_FIELD_NUMBER: _ClassVar[int]
    authority: str
    backend_tls: BackendTls
    circuit_breaker: CircuitBreaker
    connect_timeout: _duration_pb2.Duration
    health_check: HealthCheck
    load_balancing: LoadBalancing
    method: str
    outlier_detection: OutlierDetection
    target: str
    targets: _containers.RepeatedCompositeFieldContainer[Target]
    tls: bool
    def __init__(self, target: _Optional[str] = ..., tls: bool = ..., authority: _Optional[str] = ..., method: _Optional[str] = ..., backend_tls: _Optional[_Union[BackendTls, _Mapping]] = ..., connect_timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., targets: _Optional[_Iterable[_Union[Target, _Mapping]]] = ..., load_balancing: _Optional[_Union[LoadBalancing, _Mapping]] = ..., health_check: _Optional[_Union[HealthCheck, _Mapping]] = ..., outlier_detection: _Optional[_Union[OutlierDetection, _Mapping]] = ..., circuit_breaker: _Optional[_Union[CircuitBreaker, _Mapping]] = ...) -> None: ...

class HealthCheck(_message.Message):
    __slots__ = ["grpc_service", "healthy_threshold", "http_expected_status", "http_path", "interval", "timeout", "unhealthy_threshold"]
    GRPC_SERVICE_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    HTTP_EXPECTED_STATUS_FIELD_NUMBER: _ClassVar[int]
    HTTP_PATH_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    UNHEALTHY_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    grpc_service: str
    healthy_threshold: int
    http_expected_status: int
    http_path: str
    interval: _duration_pb2.Duration
    timeout: _duration_pb2.Duration
    unhealthy_threshold: int
    def __init__(self, interval: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., healthy_threshold: _Optional[int] = ..., unhealthy_threshold: _Optional[int] = ..., grpc_service: _Optional[str] = ..., http_path: _Optional[str] = ..., http_expected_status: _Optional[int] = ...) -> None: ...

class HttpIntegration(_message.Message):
    __slots__ = ["backend_tls", "circuit_breaker", "connect_timeout", "h2c", "health_check", "insecure_skip_verify", "load_balancing", "method", "outlier_detection", "targets", "uri"]
    BACKEND_TLS_FIELD_NUMBER: _ClassVar[int]
    CIRCUIT_BREAKER_FIELD_NUMBER: _ClassVar[int]
    CONNECT_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    H2C_FIELD_NUMBER: _ClassVar[int]
    HEALTH_CHECK_FIELD_NUMBER: _ClassVar[int]
    INSECURE_SKIP_VERIFY_FIELD_NUMBER: _ClassVar[int]
    LOAD_BALANCING_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    OUTLIER_DETECTION_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    URI_FIELD_NUMBER: _ClassVar[int]
    backend_tls: BackendTls
    circuit_breaker: CircuitBreaker
    connect_timeout: _duration_pb2.Duration
    h2c: bool
    health_check: HealthCheck
    insecure_skip_verify: bool
    load_balancing: LoadBalancing
    method: str
    outlier_detection: OutlierDetection
    targets: _containers.RepeatedCompositeFieldContainer[Target]
    uri: str
    def __init__(self, uri: _Optional[str] = ..., method: _Optional[str] = ..., insecure_skip_verify: bool = ..., backend_tls: _Optional[_Union[BackendTls, _Mapping]] = ..., h2c: bool = ..., connect_timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., targets: _Optional[_Iterable[_Union[Target, _Mapping]]] = ..., load_balancing: _Optional[_Union[LoadBalancing, _Mapping]] = ..., health_check: _Optional[_Union[HealthCheck, _Mapping]] = ..., outlier_detection: _Optional[_Union[OutlierDetection, _Mapping]] = ..., circuit_breaker: _Optional[_Union[CircuitBreaker, _Mapping]] = ...) -> None: ...

class Integration(_message.Message):
    __slots__ = ["grpc", "http", "mock"]
    GRPC_FIELD_NUMBER: _ClassVar[int]
    HTTP_FIELD_NUMBER: _ClassVar[int]
    MOCK_FIELD_NUMBER: _ClassVar[int]
    grpc: GrpcIntegration
    http: HttpIntegration
    mock: MockIntegration
    def __init__(self, grpc: _Optional[_Union[GrpcIntegration, _Mapping]] = ..., http: _Optional[_Union[HttpIntegration, _Mapping]] = ..., mock: _Optional[_Union[MockIntegration, _Mapping]] = ...) -> None: ...

class IpPolicy(_message.Message):
    __slots__ = ["allow", "deny"]
    ALLOW_FIELD_NUMBER: _ClassVar[int]
    DENY_FIELD_NUMBER: _ClassVar[int]
    allow: _containers.RepeatedScalarFieldContainer[str]
    deny: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, allow: _Optional[_Iterable[str]] = ..., deny: _Optional[_Iterable[str]] = ...) -> None: ...

class LoadBalancing(_message.Message):
    __slots__ = ["dns_refresh_interval", "hash_header", "policy"]
    class Policy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    DNS_REFRESH_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    HASH_HEADER_FIELD_NUMBER: _ClassVar[int]
    POLICY_CONSISTENT_HASH: LoadBalancing.Policy
    POLICY_FIELD_NUMBER: _ClassVar[int]
    POLICY_LEAST_REQUEST: LoadBalancing.Policy
    POLICY_RANDOM: LoadBalancing.Policy
    POLICY_ROUND_ROBIN: LoadBalancing.Policy
    POLICY_UNSPECIFIED: LoadBalancing.Policy
    dns_refresh_interval: _duration_pb2.Duration
    hash_header: str
    policy: LoadBalancing.Policy
    def __init__(self, policy: _Optional[_Union[LoadBalancing.Policy, str]] = ..., hash_header: _Optional[str] = ..., dns_refresh_interval: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class MockIntegration(_message.Message):
    __slots__ = ["body", "headers", "status_code"]
    class HeadersEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BODY_FIELD_NUMBER: _ClassVar[int]
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    STATUS_CODE_FIELD_NUMBER: _ClassVar[int]
    body: str
    headers: _containers.ScalarMap[str, str]
    status_code: int
    def __init__(self, status_code: _Optional[int] = ..., body: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ...) -> None: ...

class OutlierDetection(_message.Message):
    __slots__ = ["base_ejection_time", "consecutive_failures", "max_ejection_percent"]
    BASE_EJECTION_TIME_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    MAX_EJECTION_PERCENT_FIELD_NUMBER: _ClassVar[int]
    base_ejection_time: _duration_pb2.Duration
    consecutive_failures: int
    max_ejection_percent: int
    def __init__(self, consecutive_failures: _Optional[int] = ..., base_ejection_time: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., max_ejection_percent: _Optional[int] = ...) -> None: ...

class RouteAuthorization(_message.Message):
    __slots__ = ["authorizer", "scopes", "type"]
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = []
    AUTHORIZER_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    TYPE_API_KEY: RouteAuthorization.Type
    TYPE_AUTHORIZER: RouteAuthorization.Type
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TYPE_NONE: RouteAuthorization.Type
    TYPE_UNSPECIFIED: RouteAuthorization.Type
    authorizer: str
    scopes: _containers.RepeatedScalarFieldContainer[str]
    type: RouteAuthorization.Type
    def __init__(self, type: _Optional[_Union[RouteAuthorization.Type, str]] = ..., authorizer: _Optional[str] = ..., scopes: _Optional[_Iterable[str]] = ...) -> None: ...

class Target(_message.Message):
    __slots__ = ["address", "weight"]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    address: str
    weight: int
    def __init__(self, address: _Optional[str] = ..., weight: _Optional[int] = ...) -> None: ...

class ThrottleSettings(_message.Message):
    __slots__ = ["burst_limit", "rate_limit"]
    BURST_LIMIT_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    burst_limit: int
    rate_limit: float
    def __init__(self, rate_limit: _Optional[float] = ..., burst_limit: _Optional[int] = ...) -> None: ...
