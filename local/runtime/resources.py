"""Creates the template's resources in moto, in dependency order, and records what Ref/GetAtt give.

Each supported type names the properties it honours and those it accepts without emulating (key
policies, contributor insights...). A property in neither list fails start-up: silently dropping
it would make the local stack behave differently from AWS without anyone noticing.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from local.runtime.template import Attributes, Pseudo, Resolver, Resource, Template, TemplateError, references


@dataclass(frozen=True)
class Provisioned:
    """One resource of the template as it exists locally."""

    logical_id: str
    type: str
    physical_name: str
    emulated: bool  # False: only its names exist (IAM, log groups...), nothing was created


@dataclass
class _Context:
    resource: Resource
    props: dict[str, Any]
    physical_name: str
    pseudo: Pseudo
    client: Callable[[str], Any]
    api_urls: Mapping[str, str]

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        place = self.pseudo.region if region else ""
        return f"arn:{self.pseudo.partition}:{service}:{place}:{self.pseudo.account_id}:{resource}"


Creator = Callable[[_Context], Attributes]


@dataclass(frozen=True)
class _Kind:
    create: Creator
    name_property: str | None
    handled: frozenset[str]
    ignored: frozenset[str] = frozenset()
    emulated: bool = True
    # Properties whose intrinsics are resolved; the rest (policies...) are never evaluated.
    resolved: frozenset[str] | None = None

    def resolved_properties(self) -> frozenset[str]:
        return self.handled if self.resolved is None else self.resolved


# ---------------------------------------------------------------------------------------------
# Value coercion: CloudFormation passes booleans and numbers through parameters as strings.


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() == "true"


def _int(value: Any) -> int:
    return int(str(value))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _tag_list(tags: Any) -> list[dict[str, str]]:
    """Tags as [{Key, Value}] whether the template gave a list (CloudFormation) or a map (SAM)."""
    if isinstance(tags, dict):
        return [{"Key": str(key), "Value": _text(value)} for key, value in tags.items()]
    return [{"Key": str(tag["Key"]), "Value": _text(tag["Value"])} for tag in tags or []]


def _throughput(value: Mapping[str, Any]) -> dict[str, int]:
    return {
        key: _int(number)
        for key, number in value.items()
        if key in ("ReadCapacityUnits", "WriteCapacityUnits")
    }


# ---------------------------------------------------------------------------------------------
# DynamoDB


def _create_table(ctx: _Context) -> Attributes:
    return _dynamodb_table(ctx, ctx.props)


def _dynamodb_table(ctx: _Context, props: Mapping[str, Any]) -> Attributes:
    dynamodb = ctx.client("dynamodb")
    params: dict[str, Any] = {
        "TableName": ctx.physical_name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if "ProvisionedThroughput" in props:
        params["ProvisionedThroughput"] = _throughput(props["ProvisionedThroughput"])
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(key):
            params[key] = [_index(index) for index in props[key]]
    if "StreamSpecification" in props:
        params["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    if "SSESpecification" in props:
        sse = props["SSESpecification"]
        params["SSESpecification"] = {"Enabled": _bool(sse.get("SSEEnabled", False))} | {
            key: sse[key] for key in ("SSEType", "KMSMasterKeyId") if key in sse
        }
    if props.get("Tags"):
        params["Tags"] = _tag_list(props["Tags"])
    if "TableClass" in props:
        params["TableClass"] = props["TableClass"]
    if "DeletionProtectionEnabled" in props:
        params["DeletionProtectionEnabled"] = _bool(props["DeletionProtectionEnabled"])
    table = dynamodb.create_table(**params)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and _bool(ttl.get("Enabled", False)):
        dynamodb.update_time_to_live(
            TableName=ctx.physical_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
        )
    pitr = props.get("PointInTimeRecoverySpecification")
    if pitr and _bool(pitr.get("PointInTimeRecoveryEnabled", False)):
        dynamodb.update_continuous_backups(
            TableName=ctx.physical_name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    atts = {"Arn": table["TableArn"]}
    if "LatestStreamArn" in table:
        atts["StreamArn"] = table["LatestStreamArn"]
    return Attributes(ref=ctx.physical_name, atts=atts)


def _index(index: Mapping[str, Any]) -> dict[str, Any]:
    result = {key: index[key] for key in ("IndexName", "KeySchema", "Projection") if key in index}
    if "ProvisionedThroughput" in index:
        result["ProvisionedThroughput"] = _throughput(index["ProvisionedThroughput"])
    return result


_SIMPLE_KEY_TYPES = {"String": "S", "Number": "N", "Binary": "B"}


def _create_simple_table(ctx: _Context) -> Attributes:
    """SAM's SimpleTable: a one-attribute hash key, on-demand unless throughput is given."""
    key = ctx.props.get("PrimaryKey") or {"Name": "id", "Type": "String"}
    key_type = _SIMPLE_KEY_TYPES.get(str(key.get("Type", "String")))
    if key_type is None:
        raise TemplateError(f"{ctx.resource.where('PrimaryKey', 'Type')}: expected String, Number or Binary")
    props: dict[str, Any] = {
        "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": key["Name"], "AttributeType": key_type}],
        "BillingMode": "PROVISIONED" if "ProvisionedThroughput" in ctx.props else "PAY_PER_REQUEST",
    }
    for name in ("ProvisionedThroughput", "SSESpecification", "Tags", "PointInTimeRecoverySpecification"):
        if name in ctx.props:
            props[name] = ctx.props[name]
    return _dynamodb_table(ctx, props)


# ---------------------------------------------------------------------------------------------
# SQS

_QUEUE_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)


def _create_queue(ctx: _Context) -> Attributes:
    attributes = {name: _text(ctx.props[name]) for name in _QUEUE_ATTRIBUTES if name in ctx.props}
    for name in ("RedrivePolicy", "RedriveAllowPolicy"):
        if name in ctx.props:
            attributes[name] = _policy_json(ctx, name)
    params: dict[str, Any] = {"QueueName": ctx.physical_name, "Attributes": attributes}
    if ctx.props.get("Tags"):
        params["tags"] = {tag["Key"]: tag["Value"] for tag in _tag_list(ctx.props["Tags"])}
    sqs = ctx.client("sqs")
    url = sqs.create_queue(**params)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Attributes(ref=url, atts={"Arn": arn, "QueueName": ctx.physical_name, "QueueUrl": url})


def _policy_json(ctx: _Context, name: str) -> str:
    """A redrive policy as SQS wants it: JSON text with maxReceiveCount as a number."""
    value = ctx.props[name]
    policy = json.loads(value) if isinstance(value, str) else dict(value)
    if "maxReceiveCount" in policy:
        policy["maxReceiveCount"] = _int(policy["maxReceiveCount"])
    if name == "RedrivePolicy" and "deadLetterTargetArn" not in policy:
        raise TemplateError(f"{ctx.resource.where(name)}: deadLetterTargetArn is required")
    return json.dumps(policy)


# ---------------------------------------------------------------------------------------------
# KMS


def _create_key(ctx: _Context) -> Attributes:
    kms = ctx.client("kms")
    params: dict[str, Any] = {
        key: ctx.props[key] for key in ("Description", "KeyUsage", "KeySpec", "Origin") if key in ctx.props
    }
    if "MultiRegion" in ctx.props:
        params["MultiRegion"] = _bool(ctx.props["MultiRegion"])
    if ctx.props.get("Tags"):
        params["Tags"] = [
            {"TagKey": tag["Key"], "TagValue": tag["Value"]} for tag in _tag_list(ctx.props["Tags"])
        ]
    metadata = kms.create_key(**params)["KeyMetadata"]
    key_id = metadata["KeyId"]
    if _bool(ctx.props.get("EnableKeyRotation", False)):
        kms.enable_key_rotation(KeyId=key_id)
    if not _bool(ctx.props.get("Enabled", True)):
        kms.disable_key(KeyId=key_id)
    return Attributes(ref=key_id, atts={"Arn": metadata["Arn"], "KeyId": key_id})


def _create_alias(ctx: _Context) -> Attributes:
    name = str(ctx.props["AliasName"])
    if not name.startswith("alias/"):
        raise TemplateError(f"{ctx.resource.where('AliasName')}: must start with alias/")
    ctx.client("kms").create_alias(AliasName=name, TargetKeyId=str(ctx.props["TargetKeyId"]))
    return Attributes(ref=name, atts={})


# ---------------------------------------------------------------------------------------------
# SNS, CloudWatch, SSM, Secrets Manager


def _create_topic(ctx: _Context) -> Attributes:
    sns = ctx.client("sns")
    attributes = {
        key: _text(ctx.props[key])
        for key in ("DisplayName", "FifoTopic", "ContentBasedDeduplication", "KmsMasterKeyId")
        if key in ctx.props
    }
    params: dict[str, Any] = {"Name": ctx.physical_name, "Attributes": attributes}
    if ctx.props.get("Tags"):
        params["Tags"] = _tag_list(ctx.props["Tags"])
    arn = sns.create_topic(**params)["TopicArn"]
    for subscription in ctx.props.get("Subscription") or []:
        sns.subscribe(TopicArn=arn, Protocol=subscription["Protocol"], Endpoint=subscription["Endpoint"])
    return Attributes(ref=arn, atts={"TopicArn": arn, "TopicName": ctx.physical_name})


def _create_subscription(ctx: _Context) -> Attributes:
    params: dict[str, Any] = {
        key: ctx.props[key] for key in ("TopicArn", "Protocol", "Endpoint") if key in ctx.props
    }
    if "RawMessageDelivery" in ctx.props:
        params["Attributes"] = {"RawMessageDelivery": _text(ctx.props["RawMessageDelivery"])}
    arn = ctx.client("sns").subscribe(ReturnSubscriptionArn=True, **params)["SubscriptionArn"]
    return Attributes(ref=arn, atts={"Arn": arn})


_ALARM_NUMBERS = ("Period", "EvaluationPeriods", "DatapointsToAlarm")


def _create_alarm(ctx: _Context) -> Attributes:
    params = {key: value for key, value in ctx.props.items() if key != "AlarmName"}
    for key in _ALARM_NUMBERS:
        if key in params:
            params[key] = _int(params[key])
    if "Threshold" in params:
        params["Threshold"] = float(params["Threshold"])
    if "ActionsEnabled" in params:
        params["ActionsEnabled"] = _bool(params["ActionsEnabled"])
    if "Metrics" in params:
        params["Metrics"] = [_metric_query(query) for query in params["Metrics"]]
    if "Tags" in params:
        params["Tags"] = _tag_list(params["Tags"])
    ctx.client("cloudwatch").put_metric_alarm(AlarmName=ctx.physical_name, **params)
    return Attributes(
        ref=ctx.physical_name, atts={"Arn": ctx.arn("cloudwatch", f"alarm:{ctx.physical_name}")}
    )


def _metric_query(query: Mapping[str, Any]) -> dict[str, Any]:
    result = dict(query)
    if "Period" in result:
        result["Period"] = _int(result["Period"])
    if "ReturnData" in result:
        result["ReturnData"] = _bool(result["ReturnData"])
    if "MetricStat" in result:
        result["MetricStat"] = {**result["MetricStat"], "Period": _int(result["MetricStat"]["Period"])}
    return result


def _create_ssm_parameter(ctx: _Context) -> Attributes:
    params: dict[str, Any] = {
        "Name": ctx.physical_name,
        "Value": _text(ctx.props["Value"]),
        "Type": ctx.props["Type"],
    }
    params |= {
        key: ctx.props[key]
        for key in ("Description", "AllowedPattern", "Tier", "DataType", "Policies")
        if key in ctx.props
    }
    if ctx.props.get("Tags"):
        params["Tags"] = _tag_list(ctx.props["Tags"])
    ctx.client("ssm").put_parameter(**params)
    return Attributes(ref=ctx.physical_name, atts={"Type": params["Type"], "Value": params["Value"]})


def _create_secret(ctx: _Context) -> Attributes:
    params: dict[str, Any] = {"Name": ctx.physical_name}
    if "Description" in ctx.props:
        params["Description"] = ctx.props["Description"]
    if "SecretString" in ctx.props:
        params["SecretString"] = _text(ctx.props["SecretString"])
    elif "GenerateSecretString" in ctx.props:
        params["SecretString"] = _generated_secret(ctx.props["GenerateSecretString"])
    if "KmsKeyId" in ctx.props:
        params["KmsKeyId"] = ctx.props["KmsKeyId"]
    arn = ctx.client("secretsmanager").create_secret(**params)["ARN"]
    return Attributes(ref=arn, atts={"Id": arn})


def _generated_secret(spec: Mapping[str, Any]) -> str:
    value = secrets.token_urlsafe(_int(spec.get("PasswordLength", 32)))[
        : _int(spec.get("PasswordLength", 32))
    ]
    if "SecretStringTemplate" in spec and "GenerateStringKey" in spec:
        document = json.loads(spec["SecretStringTemplate"])
        document[spec["GenerateStringKey"]] = value
        return json.dumps(document)
    return value


# ---------------------------------------------------------------------------------------------
# Resources that exist locally only as names (nothing to create, or handled by the runtime)


def _function_names(ctx: _Context) -> Attributes:
    return Attributes(ref=ctx.physical_name, atts={"Arn": ctx.arn("lambda", f"function:{ctx.physical_name}")})


def _layer_names(ctx: _Context) -> Attributes:
    arn = ctx.arn("lambda", f"layer:{ctx.physical_name}:1")
    return Attributes(ref=arn, atts={})


def _http_api_names(ctx: _Context) -> Attributes:
    api_id = http_api_id(ctx.resource.logical_id)
    endpoint = ctx.api_urls.get(ctx.resource.logical_id, "")
    return Attributes(ref=api_id, atts={"ApiId": api_id, "ApiEndpoint": endpoint})


def _iam_names(ctx: _Context) -> Attributes:
    kind = ctx.resource.type.split("::")[-1]
    path = {"Role": "role", "ManagedPolicy": "policy", "InstanceProfile": "instance-profile"}.get(
        kind, "policy"
    )
    arn = ctx.arn("iam", f"{path}/{ctx.physical_name}", region=False)
    return Attributes(
        ref=arn if kind == "ManagedPolicy" else ctx.physical_name,
        atts={"Arn": arn, "RoleId": ctx.physical_name},
    )


def _log_group_names(ctx: _Context) -> Attributes:
    return Attributes(
        ref=ctx.physical_name, atts={"Arn": ctx.arn("logs", f"log-group:{ctx.physical_name}:*")}
    )


def _recorded_only(ctx: _Context) -> Attributes:
    return Attributes(
        ref=ctx.physical_name,
        atts={"Arn": ctx.arn(ctx.resource.type.split("::")[1].lower(), ctx.physical_name)},
    )


def http_api_id(logical_id: str) -> str:
    """A stable 10-character API id, shaped like API Gateway's."""
    return hashlib.sha256(logical_id.encode()).hexdigest()[:10]


_ANY = frozenset({"*"})

_KINDS: dict[str, _Kind] = {
    "AWS::DynamoDB::Table": _Kind(
        _create_table,
        "TableName",
        frozenset(
            {
                "TableName",
                "KeySchema",
                "AttributeDefinitions",
                "BillingMode",
                "ProvisionedThroughput",
                "GlobalSecondaryIndexes",
                "LocalSecondaryIndexes",
                "StreamSpecification",
                "TimeToLiveSpecification",
                "PointInTimeRecoverySpecification",
                "SSESpecification",
                "Tags",
                "TableClass",
                "DeletionProtectionEnabled",
            }
        ),
        frozenset(
            {
                "ContributorInsightsSpecification",
                "KinesisStreamSpecification",
                "ResourcePolicy",
                "OnDemandThroughput",
                "WarmThroughput",
            }
        ),
    ),
    "AWS::Serverless::SimpleTable": _Kind(
        _create_simple_table,
        "TableName",
        frozenset(
            {
                "TableName",
                "PrimaryKey",
                "ProvisionedThroughput",
                "SSESpecification",
                "Tags",
                "PointInTimeRecoverySpecification",
            }
        ),
    ),
    "AWS::SQS::Queue": _Kind(
        _create_queue,
        "QueueName",
        frozenset({"QueueName", "RedrivePolicy", "RedriveAllowPolicy", "Tags", *_QUEUE_ATTRIBUTES}),
    ),
    "AWS::KMS::Key": _Kind(
        _create_key,
        None,
        frozenset(
            {
                "Description",
                "Enabled",
                "EnableKeyRotation",
                "KeySpec",
                "KeyUsage",
                "MultiRegion",
                "Origin",
                "Tags",
            }
        ),
        frozenset(
            {"KeyPolicy", "PendingWindowInDays", "RotationPeriodInDays", "BypassPolicyLockoutSafetyCheck"}
        ),
    ),
    "AWS::KMS::Alias": _Kind(_create_alias, "AliasName", frozenset({"AliasName", "TargetKeyId"})),
    "AWS::SNS::Topic": _Kind(
        _create_topic,
        "TopicName",
        frozenset(
            {
                "TopicName",
                "DisplayName",
                "FifoTopic",
                "ContentBasedDeduplication",
                "KmsMasterKeyId",
                "Subscription",
                "Tags",
            }
        ),
        frozenset(
            {
                "ArchivePolicy",
                "DataProtectionPolicy",
                "DeliveryStatusLogging",
                "SignatureVersion",
                "TracingConfig",
            }
        ),
    ),
    "AWS::SNS::Subscription": _Kind(
        _create_subscription,
        None,
        frozenset({"TopicArn", "Protocol", "Endpoint", "RawMessageDelivery"}),
        frozenset(
            {
                "FilterPolicy",
                "FilterPolicyScope",
                "RedrivePolicy",
                "Region",
                "DeliveryPolicy",
                "SubscriptionRoleArn",
                "ReplayPolicy",
            }
        ),
    ),
    "AWS::CloudWatch::Alarm": _Kind(
        _create_alarm,
        "AlarmName",
        frozenset(
            {
                "AlarmName",
                "AlarmDescription",
                "ActionsEnabled",
                "OKActions",
                "AlarmActions",
                "InsufficientDataActions",
                "MetricName",
                "Namespace",
                "Statistic",
                "ExtendedStatistic",
                "Dimensions",
                "Period",
                "Unit",
                "EvaluationPeriods",
                "DatapointsToAlarm",
                "Threshold",
                "ComparisonOperator",
                "TreatMissingData",
                "EvaluateLowSampleCountPercentile",
                "Metrics",
                "ThresholdMetricId",
                "Tags",
            }
        ),
    ),
    "AWS::SSM::Parameter": _Kind(
        _create_ssm_parameter,
        "Name",
        frozenset(
            {"Name", "Type", "Value", "Description", "AllowedPattern", "Tier", "DataType", "Policies", "Tags"}
        ),
    ),
    "AWS::SecretsManager::Secret": _Kind(
        _create_secret,
        "Name",
        frozenset({"Name", "Description", "SecretString", "GenerateSecretString", "KmsKeyId"}),
        frozenset({"Tags", "ReplicaRegions"}),
    ),
    # Run by the runtime itself (local/runtime/model.py); only their names are needed here.
    "AWS::Serverless::Function": _Kind(
        _function_names, "FunctionName", _ANY, resolved=frozenset({"FunctionName"})
    ),
    "AWS::Serverless::LayerVersion": _Kind(
        _layer_names, "LayerName", _ANY, resolved=frozenset({"LayerName"})
    ),
    "AWS::Serverless::HttpApi": _Kind(_http_api_names, None, _ANY, resolved=frozenset()),
    # Not created: each function's role is enforced by its workers (local/runtime/roles.py, iam.py);
    # logs go to .local/logs.
    "AWS::IAM::Role": _Kind(_iam_names, "RoleName", _ANY, emulated=False, resolved=frozenset({"RoleName"})),
    "AWS::IAM::Policy": _Kind(
        _iam_names, "PolicyName", _ANY, emulated=False, resolved=frozenset({"PolicyName"})
    ),
    "AWS::IAM::ManagedPolicy": _Kind(
        _iam_names, "ManagedPolicyName", _ANY, emulated=False, resolved=frozenset({"ManagedPolicyName"})
    ),
    "AWS::Logs::LogGroup": _Kind(
        _log_group_names, "LogGroupName", _ANY, emulated=False, resolved=frozenset({"LogGroupName"})
    ),
    "AWS::Lambda::Permission": _Kind(_recorded_only, None, _ANY, emulated=False, resolved=frozenset()),
    "AWS::SQS::QueuePolicy": _Kind(_recorded_only, None, _ANY, emulated=False, resolved=frozenset()),
    "AWS::SNS::TopicPolicy": _Kind(_recorded_only, None, _ANY, emulated=False, resolved=frozenset()),
    "AWS::CloudWatch::Dashboard": _Kind(
        _recorded_only, "DashboardName", _ANY, emulated=False, resolved=frozenset({"DashboardName"})
    ),
}


def supported_types() -> list[str]:
    return sorted(_KINDS)


def check_resources(template: Template) -> None:
    """Fail on a resource type or property the runtime cannot emulate, before anything starts."""
    for resource in template.resources.values():
        kind = _KINDS.get(resource.type)
        if kind is None:
            raise TemplateError(
                f"Resources.{resource.logical_id}: type {resource.type} is not supported by the local "
                f"runtime (supported: {', '.join(supported_types())})"
            )
        if kind.handled is _ANY:
            continue
        for name in resource.properties:
            if name not in kind.handled and name not in kind.ignored:
                raise TemplateError(
                    f"{resource.where(name)}: not supported by the local runtime for {resource.type}"
                )


# ---------------------------------------------------------------------------------------------
# Provisioning


@dataclass
class Provisioner:
    """Creates every enabled resource of a template in moto and fills the resolver's attributes."""

    template: Template
    resolver: Resolver
    client: Callable[[str], Any]
    attributes: dict[str, Attributes]
    api_urls: Mapping[str, str] = field(default_factory=dict)
    provisioned: dict[str, Provisioned] = field(default_factory=dict)

    def run(self) -> dict[str, Provisioned]:
        check_resources(self.template)
        resources = [r for r in self.template.resources.values() if self.resolver.enabled(r)]
        for resource in _dependency_order(resources, self._dependencies):
            self._provision(resource)
        return self.provisioned

    def _dependencies(self, resource: Resource) -> set[str]:
        wanted = _KINDS[resource.type].resolved_properties()
        used = {key: value for key, value in resource.properties.items() if wanted is _ANY or key in wanted}
        return (references(used) | set(resource.depends_on)) & set(self.template.resources)

    def _provision(self, resource: Resource) -> None:
        kind = _KINDS[resource.type]
        wanted = kind.resolved_properties()
        props = {
            key: self.resolver.resolve(value, resource.where(key))
            for key, value in resource.properties.items()
            if wanted is _ANY or key in wanted
        }
        name = self._physical_name(resource, kind, props)
        ctx = _Context(resource, props, name, self.resolver.pseudo, self.client, self.api_urls)
        try:
            self.attributes[resource.logical_id] = kind.create(ctx)
        except TemplateError:
            raise
        except Exception as error:  # moto refused it: say which resource, keep the cause
            raise TemplateError(
                f"Resources.{resource.logical_id}: moto could not create it: {error}"
            ) from error
        self.provisioned[resource.logical_id] = Provisioned(
            resource.logical_id, resource.type, name, kind.emulated
        )
        self._add_implicit(resource, name)

    def _physical_name(self, resource: Resource, kind: _Kind, props: Mapping[str, Any]) -> str:
        if kind.name_property and props.get(kind.name_property):
            return str(props[kind.name_property])
        name = f"{self.resolver.pseudo.stack_name}-{resource.logical_id}"
        fifo = _bool(props.get("FifoQueue", False)) or _bool(props.get("FifoTopic", False))
        return f"{name}.fifo" if fifo else name

    def _add_implicit(self, resource: Resource, name: str) -> None:
        """Names SAM generates that a template may reference (a function's implicit role)."""
        if resource.type == "AWS::Serverless::Function" and "Role" not in resource.properties:
            role = f"{resource.logical_id}Role"
            pseudo = self.resolver.pseudo
            arn = f"arn:{pseudo.partition}:iam::{pseudo.account_id}:role/{name}-role"
            self.attributes.setdefault(role, Attributes(ref=f"{name}-role", atts={"Arn": arn}))


def _dependency_order(
    resources: list[Resource], dependencies: Callable[[Resource], set[str]]
) -> list[Resource]:
    """Topological order (template order among equals); a cycle is a template error."""
    by_id = {resource.logical_id: resource for resource in resources}
    pending = {resource.logical_id: dependencies(resource) for resource in resources}
    missing = {dep for deps in pending.values() for dep in deps} - set(by_id)
    if missing:
        # Depends on a resource whose Condition is false: CloudFormation rejects that too.
        owners = sorted(lid for lid, deps in pending.items() if deps & missing)
        raise TemplateError(
            f"Resources {', '.join(owners)}: refer to resources not created ({', '.join(sorted(missing))})"
        )
    ordered: list[Resource] = []
    done: set[str] = set()
    while pending:
        ready = [lid for lid, deps in pending.items() if deps <= done]
        if not ready:
            raise TemplateError(f"Resources {', '.join(sorted(pending))}: circular dependency")
        for lid in ready:
            ordered.append(by_id[lid])
            done.add(lid)
            del pending[lid]
    return ordered
