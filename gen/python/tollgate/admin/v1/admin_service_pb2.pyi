from google.api import annotations_pb2 as _annotations_pb2
from google.api import client_pb2 as _client_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import httpbody_pb2 as _httpbody_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tollgate.admin.v1 import access_pb2 as _access_pb2
from tollgate.admin.v1 import api_pb2 as _api_pb2
from tollgate.admin.v1 import certificate_pb2 as _certificate_pb2
from tollgate.admin.v1 import keys_pb2 as _keys_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

API_VIEW_BASIC: ApiView
API_VIEW_FULL: ApiView
API_VIEW_UNSPECIFIED: ApiView
DESCRIPTOR: _descriptor.FileDescriptor

class AdjustQuotaRequest(_message.Message):
    __slots__ = ["name", "remaining_quota"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    REMAINING_QUOTA_FIELD_NUMBER: _ClassVar[int]
    name: str
    remaining_quota: int
    def __init__(self, name: _Optional[str] = ..., remaining_quota: _Optional[int] = ...) -> None: ...

class CreateAdminTokenRequest(_message.Message):
    __slots__ = ["admin_token", "admin_token_id"]
    ADMIN_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ADMIN_TOKEN_ID_FIELD_NUMBER: _ClassVar[int]
    admin_token: _access_pb2.AdminToken
    admin_token_id: str
    def __init__(self, admin_token_id: _Optional[str] = ..., admin_token: _Optional[_Union[_access_pb2.AdminToken, _Mapping]] = ...) -> None: ...

class CreateApiKeyRequest(_message.Message):
    __slots__ = ["api_key", "api_key_id"]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    API_KEY_ID_FIELD_NUMBER: _ClassVar[int]
    api_key: _keys_pb2.ApiKey
    api_key_id: str
    def __init__(self, api_key_id: _Optional[str] = ..., api_key: _Optional[_Union[_keys_pb2.ApiKey, _Mapping]] = ...) -> None: ...

class CreateApiRequest(_message.Message):
    __slots__ = ["api", "api_id"]
    API_FIELD_NUMBER: _ClassVar[int]
    API_ID_FIELD_NUMBER: _ClassVar[int]
    api: _api_pb2.Api
    api_id: str
    def __init__(self, api_id: _Optional[str] = ..., api: _Optional[_Union[_api_pb2.Api, _Mapping]] = ...) -> None: ...

class CreateAuthorizerRequest(_message.Message):
    __slots__ = ["authorizer", "authorizer_id", "parent"]
    AUTHORIZER_FIELD_NUMBER: _ClassVar[int]
    AUTHORIZER_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    authorizer: _api_pb2.Authorizer
    authorizer_id: str
    parent: str
    def __init__(self, parent: _Optional[str] = ..., authorizer_id: _Optional[str] = ..., authorizer: _Optional[_Union[_api_pb2.Authorizer, _Mapping]] = ...) -> None: ...

class CreateDeploymentRequest(_message.Message):
    __slots__ = ["deployment", "deployment_id", "parent"]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    deployment: _api_pb2.Deployment
    deployment_id: str
    parent: str
    def __init__(self, parent: _Optional[str] = ..., deployment_id: _Optional[str] = ..., deployment: _Optional[_Union[_api_pb2.Deployment, _Mapping]] = ...) -> None: ...

class CreateDomainMappingRequest(_message.Message):
    __slots__ = ["domain_mapping", "domain_mapping_id"]
    DOMAIN_MAPPING_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_MAPPING_ID_FIELD_NUMBER: _ClassVar[int]
    domain_mapping: _api_pb2.DomainMapping
    domain_mapping_id: str
    def __init__(self, domain_mapping_id: _Optional[str] = ..., domain_mapping: _Optional[_Union[_api_pb2.DomainMapping, _Mapping]] = ...) -> None: ...

class CreateRouteRequest(_message.Message):
    __slots__ = ["parent", "route", "route_id"]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    ROUTE_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    route: _api_pb2.Route
    route_id: str
    def __init__(self, parent: _Optional[str] = ..., route_id: _Optional[str] = ..., route: _Optional[_Union[_api_pb2.Route, _Mapping]] = ...) -> None: ...

class CreateStageRequest(_message.Message):
    __slots__ = ["parent", "stage", "stage_id"]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    STAGE_ID_FIELD_NUMBER: _ClassVar[int]
    parent: str
    stage: _api_pb2.Stage
    stage_id: str
    def __init__(self, parent: _Optional[str] = ..., stage_id: _Optional[str] = ..., stage: _Optional[_Union[_api_pb2.Stage, _Mapping]] = ...) -> None: ...

class CreateUsagePlanKeyRequest(_message.Message):
    __slots__ = ["parent", "usage_plan_key"]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    USAGE_PLAN_KEY_FIELD_NUMBER: _ClassVar[int]
    parent: str
    usage_plan_key: _keys_pb2.UsagePlanKey
    def __init__(self, parent: _Optional[str] = ..., usage_plan_key: _Optional[_Union[_keys_pb2.UsagePlanKey, _Mapping]] = ...) -> None: ...

class CreateUsagePlanRequest(_message.Message):
    __slots__ = ["usage_plan", "usage_plan_id"]
    USAGE_PLAN_FIELD_NUMBER: _ClassVar[int]
    USAGE_PLAN_ID_FIELD_NUMBER: _ClassVar[int]
    usage_plan: _keys_pb2.UsagePlan
    usage_plan_id: str
    def __init__(self, usage_plan_id: _Optional[str] = ..., usage_plan: _Optional[_Union[_keys_pb2.UsagePlan, _Mapping]] = ...) -> None: ...

class DeleteAdminTokenRequest(_message.Message):
    __slots__ = ["etag", "name"]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    etag: str
    name: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteApiKeyRequest(_message.Message):
    __slots__ = ["etag", "name"]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    etag: str
    name: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteApiRequest(_message.Message):
    __slots__ = ["etag", "force", "name"]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    FORCE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    etag: str
    force: bool
    name: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ..., force: bool = ...) -> None: ...

class DeleteAuthorizerRequest(_message.Message):
    __slots__ = ["etag", "name"]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    etag: str
    name: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteDeploymentRequest(_message.Message):
    __slots__ = ["etag", "name"]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    etag: str
    name: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteDomainMappingRequest(_message.Message):
    __slots__ = ["etag", "name"]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    etag: str
    name: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteRouteRequest(_message.Message):
    __slots__ = ["etag", "name"]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    etag: str
    name: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteStageRequest(_message.Message):
    __slots__ = ["etag", "name"]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    etag: str
    name: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class DeleteUsagePlanKeyRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DeleteUsagePlanRequest(_message.Message):
    __slots__ = ["etag", "name"]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    etag: str
    name: str
    def __init__(self, name: _Optional[str] = ..., etag: _Optional[str] = ...) -> None: ...

class ExportDeploymentRequest(_message.Message):
    __slots__ = ["format", "name", "output", "server_url", "stage"]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    SERVER_URL_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    format: str
    name: str
    output: str
    server_url: str
    stage: str
    def __init__(self, name: _Optional[str] = ..., format: _Optional[str] = ..., output: _Optional[str] = ..., stage: _Optional[str] = ..., server_url: _Optional[str] = ...) -> None: ...

class FlushStageAuthorizersCacheRequest(_message.Message):
    __slots__ = ["authorizer", "name"]
    AUTHORIZER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    authorizer: str
    name: str
    def __init__(self, name: _Optional[str] = ..., authorizer: _Optional[str] = ...) -> None: ...

class FlushStageCacheRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetAccountSettingsRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetAdminTokenRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetApiKeyRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetApiRequest(_message.Message):
    __slots__ = ["name", "view"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    name: str
    view: ApiView
    def __init__(self, name: _Optional[str] = ..., view: _Optional[_Union[ApiView, str]] = ...) -> None: ...

class GetAuthorizerRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetDeploymentRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetDomainMappingRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetRouteRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetStageHealthRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetStageRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetUsagePlanKeyRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetUsagePlanRequest(_message.Message):
    __slots__ = ["name"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ["api_key", "end_date", "page_size", "page_token", "start_date", "usage_plan"]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    USAGE_PLAN_FIELD_NUMBER: _ClassVar[int]
    api_key: str
    end_date: str
    page_size: int
    page_token: str
    start_date: str
    usage_plan: str
    def __init__(self, usage_plan: _Optional[str] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., api_key: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetUsageResponse(_message.Message):
    __slots__ = ["end_date", "items", "next_page_token", "start_date", "usage_plan"]
    END_DATE_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    START_DATE_FIELD_NUMBER: _ClassVar[int]
    USAGE_PLAN_FIELD_NUMBER: _ClassVar[int]
    end_date: str
    items: _containers.RepeatedCompositeFieldContainer[_keys_pb2.KeyUsage]
    next_page_token: str
    start_date: str
    usage_plan: str
    def __init__(self, usage_plan: _Optional[str] = ..., start_date: _Optional[str] = ..., end_date: _Optional[str] = ..., items: _Optional[_Iterable[_Union[_keys_pb2.KeyUsage, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListAdminTokensRequest(_message.Message):
    __slots__ = ["page_size", "page_token"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAdminTokensResponse(_message.Message):
    __slots__ = ["admin_tokens", "next_page_token"]
    ADMIN_TOKENS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    admin_tokens: _containers.RepeatedCompositeFieldContainer[_access_pb2.AdminToken]
    next_page_token: str
    def __init__(self, admin_tokens: _Optional[_Iterable[_Union[_access_pb2.AdminToken, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListApiKeysRequest(_message.Message):
    __slots__ = ["page_size", "page_token"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListApiKeysResponse(_message.Message):
    __slots__ = ["api_keys", "next_page_token"]
    API_KEYS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    api_keys: _containers.RepeatedCompositeFieldContainer[_keys_pb2.ApiKey]
    next_page_token: str
    def __init__(self, api_keys: _Optional[_Iterable[_Union[_keys_pb2.ApiKey, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListApisRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "view"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    view: ApiView
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., view: _Optional[_Union[ApiView, str]] = ...) -> None: ...

class ListApisResponse(_message.Message):
    __slots__ = ["apis", "next_page_token"]
    APIS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    apis: _containers.RepeatedCompositeFieldContainer[_api_pb2.Api]
    next_page_token: str
    def __init__(self, apis: _Optional[_Iterable[_Union[_api_pb2.Api, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListAuditEventsRequest(_message.Message):
    __slots__ = ["actor", "end_time", "method", "page_size", "page_token", "resource", "start_time"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    actor: str
    end_time: _timestamp_pb2.Timestamp
    method: str
    page_size: int
    page_token: str
    resource: str
    start_time: _timestamp_pb2.Timestamp
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., actor: _Optional[str] = ..., resource: _Optional[str] = ..., method: _Optional[str] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListAuditEventsResponse(_message.Message):
    __slots__ = ["audit_events", "next_page_token"]
    AUDIT_EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    audit_events: _containers.RepeatedCompositeFieldContainer[_access_pb2.AuditEvent]
    next_page_token: str
    def __init__(self, audit_events: _Optional[_Iterable[_Union[_access_pb2.AuditEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListAuthorizersRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "parent"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    parent: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAuthorizersResponse(_message.Message):
    __slots__ = ["authorizers", "next_page_token"]
    AUTHORIZERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    authorizers: _containers.RepeatedCompositeFieldContainer[_api_pb2.Authorizer]
    next_page_token: str
    def __init__(self, authorizers: _Optional[_Iterable[_Union[_api_pb2.Authorizer, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListDeploymentsRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "parent"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    parent: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDeploymentsResponse(_message.Message):
    __slots__ = ["deployments", "next_page_token"]
    DEPLOYMENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    deployments: _containers.RepeatedCompositeFieldContainer[_api_pb2.Deployment]
    next_page_token: str
    def __init__(self, deployments: _Optional[_Iterable[_Union[_api_pb2.Deployment, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListDomainMappingsRequest(_message.Message):
    __slots__ = ["page_size", "page_token"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDomainMappingsResponse(_message.Message):
    __slots__ = ["domain_mappings", "next_page_token"]
    DOMAIN_MAPPINGS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    domain_mappings: _containers.RepeatedCompositeFieldContainer[_api_pb2.DomainMapping]
    next_page_token: str
    def __init__(self, domain_mappings: _Optional[_Iterable[_Union[_api_pb2.DomainMapping, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListRoutesRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "parent"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    parent: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListRoutesResponse(_message.Message):
    __slots__ = ["next_page_token", "routes"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ROUTES_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    routes: _containers.RepeatedCompositeFieldContainer[_api_pb2.Route]
    def __init__(self, routes: _Optional[_Iterable[_Union[_api_pb2.Route, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListStagesRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "parent"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    parent: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListStagesResponse(_message.Message):
    __slots__ = ["next_page_token", "stages"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STAGES_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    stages: _containers.RepeatedCompositeFieldContainer[_api_pb2.Stage]
    def __init__(self, stages: _Optional[_Iterable[_Union[_api_pb2.Stage, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListUsagePlanKeysRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "parent"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PARENT_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    parent: str
    def __init__(self, parent: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListUsagePlanKeysResponse(_message.Message):
    __slots__ = ["next_page_token", "usage_plan_keys"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    USAGE_PLAN_KEYS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    usage_plan_keys: _containers.RepeatedCompositeFieldContainer[_keys_pb2.UsagePlanKey]
    def __init__(self, usage_plan_keys: _Optional[_Iterable[_Union[_keys_pb2.UsagePlanKey, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListUsagePlansRequest(_message.Message):
    __slots__ = ["page_size", "page_token"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListUsagePlansResponse(_message.Message):
    __slots__ = ["next_page_token", "usage_plans"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    USAGE_PLANS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    usage_plans: _containers.RepeatedCompositeFieldContainer[_keys_pb2.UsagePlan]
    def __init__(self, usage_plans: _Optional[_Iterable[_Union[_keys_pb2.UsagePlan, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StageHealth(_message.Message):
    __slots__ = ["name", "targets"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    name: str
    targets: _containers.RepeatedCompositeFieldContainer[TargetHealth]
    def __init__(self, name: _Optional[str] = ..., targets: _Optional[_Iterable[_Union[TargetHealth, _Mapping]]] = ...) -> None: ...

class TargetHealth(_message.Message):
    __slots__ = ["active_calls", "address", "canary", "ejected_until", "ejections", "healthy", "last_check_error", "routes", "target"]
    ACTIVE_CALLS_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CANARY_FIELD_NUMBER: _ClassVar[int]
    EJECTED_UNTIL_FIELD_NUMBER: _ClassVar[int]
    EJECTIONS_FIELD_NUMBER: _ClassVar[int]
    HEALTHY_FIELD_NUMBER: _ClassVar[int]
    LAST_CHECK_ERROR_FIELD_NUMBER: _ClassVar[int]
    ROUTES_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    active_calls: int
    address: str
    canary: bool
    ejected_until: _timestamp_pb2.Timestamp
    ejections: int
    healthy: bool
    last_check_error: str
    routes: _containers.RepeatedScalarFieldContainer[str]
    target: str
    def __init__(self, routes: _Optional[_Iterable[str]] = ..., canary: bool = ..., target: _Optional[str] = ..., address: _Optional[str] = ..., healthy: bool = ..., ejected_until: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., ejections: _Optional[int] = ..., last_check_error: _Optional[str] = ..., active_calls: _Optional[int] = ...) -> None: ...

class UpdateAccountSettingsRequest(_message.Message):
    __slots__ = ["account_settings", "update_mask"]
    ACCOUNT_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    account_settings: _keys_pb2.AccountSettings
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, account_settings: _Optional[_Union[_keys_pb2.AccountSettings, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateApiKeyRequest(_message.Message):
    __slots__ = ["api_key", "update_mask"]
    API_KEY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    api_key: _keys_pb2.ApiKey
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, api_key: _Optional[_Union[_keys_pb2.ApiKey, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateApiRequest(_message.Message):
    __slots__ = ["api", "update_mask"]
    API_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    api: _api_pb2.Api
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, api: _Optional[_Union[_api_pb2.Api, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateAuthorizerRequest(_message.Message):
    __slots__ = ["authorizer", "update_mask"]
    AUTHORIZER_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    authorizer: _api_pb2.Authorizer
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, authorizer: _Optional[_Union[_api_pb2.Authorizer, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateDomainMappingRequest(_message.Message):
    __slots__ = ["domain_mapping", "update_mask"]
    DOMAIN_MAPPING_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    domain_mapping: _api_pb2.DomainMapping
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, domain_mapping: _Optional[_Union[_api_pb2.DomainMapping, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateRouteRequest(_message.Message):
    __slots__ = ["route", "update_mask"]
    ROUTE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    route: _api_pb2.Route
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, route: _Optional[_Union[_api_pb2.Route, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateStageRequest(_message.Message):
    __slots__ = ["stage", "update_mask"]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    stage: _api_pb2.Stage
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, stage: _Optional[_Union[_api_pb2.Stage, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateUsagePlanRequest(_message.Message):
    __slots__ = ["update_mask", "usage_plan"]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    USAGE_PLAN_FIELD_NUMBER: _ClassVar[int]
    update_mask: _field_mask_pb2.FieldMask
    usage_plan: _keys_pb2.UsagePlan
    def __init__(self, usage_plan: _Optional[_Union[_keys_pb2.UsagePlan, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class ApiView(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
