"""moto 5.2.5 gaps that would make Terraform's plans and applies against it lie, filled in-process.

The Terraform tests that run the real provider against an in-process moto server
(tests/terraform/test_aws_rules.py, tests/terraform/test_rollback.py) patch moto's response
classes for the duration of ``moto_gaps_filled()``; each patch answers as AWS does:

- Application Auto Scaling has no tagging API in moto, and the provider lists a scalable
  target's tags right after registering it (retrying the 500 for minutes): tags given at
  registration or by TagResource are kept and listed back by ARN.
- CreateModel drops EnableNetworkIsolation and echoes an empty VpcConfig, so every later plan
  would replace the model for nothing: both are stored as sent.
- DescribeEndpointConfig adds a disabled DataCaptureConfig to a configuration created without
  one (Terraform then replaces the configuration): left out, as AWS leaves it out.
- CreateEndpoint drops DeploymentConfig and DescribeEndpoint has no LastDeploymentConfig, so the
  provider reads deployment_config back empty and, its auto_rollback_configuration being
  ForceNew, plans to replace the endpoint: AWS answers the last DeploymentConfig sent (the
  provider reads deployment_config from it, and its acceptance tests expect it back as sent).
- UpdateEndpoint is missing: it switches the endpoint to the new configuration, or, while
  ``ROLLBACK.on``, answers as SageMaker does after rolling a guarded update back: the endpoint
  InService on the configuration it ran before (terraform-provider-aws#48997).

tests/rehearsal/fidelity.py makes the same corrections for the deploy rehearsal, at the HTTP
level in front of a moto server process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Rollback:
    """While ``on``, UpdateEndpoint leaves the endpoint where it was, as a rolled-back update does.

    ``calls`` lists the endpoint's updates and the deletions of configurations and models, in
    order: (operation, name), UpdateEndpoint with the configuration it asked for.
    """

    on: bool = False
    calls: list[tuple[str, str]] = field(default_factory=list)


ROLLBACK = Rollback()


@contextmanager
def patched(cls: Any, **methods: Any) -> Iterator[None]:
    saved = {name: cls.__dict__.get(name) for name in methods}
    for name, fn in methods.items():
        setattr(cls, name, fn)
    try:
        yield
    finally:
        for name, fn in saved.items():
            if fn is None:
                delattr(cls, name)
            else:
                setattr(cls, name, fn)


@contextmanager
def moto_gaps_filled() -> Iterator[Rollback]:
    from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse as Scaling
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow
    from moto.sagemaker.responses import SageMakerResponse as SageMaker

    tags: dict[str, dict[str, str]] = {}
    deployment_configs: dict[str, dict[str, Any]] = {}  # endpoint name -> the last DeploymentConfig sent
    register, create_model, create_endpoint = (
        Scaling.register_scalable_target,
        SageMaker.create_model,
        SageMaker.create_endpoint,
    )

    def register_with_tags(self: Any) -> str:
        answer = register(self)
        tags[json.loads(answer)["ScalableTargetARN"]] = dict(self._get_param("Tags") or {})
        return answer

    def tag_resource(self: Any) -> str:
        tags.setdefault(self._get_param("ResourceARN"), {}).update(self._get_param("Tags") or {})
        return "{}"

    def untag_resource(self: Any) -> str:
        for key in self._get_param("TagKeys") or []:
            tags.get(self._get_param("ResourceARN"), {}).pop(key, None)
        return "{}"

    def list_tags_for_resource(self: Any) -> str:
        return json.dumps({"Tags": tags.get(self._get_param("ResourceARN"), {})})

    def create_model_as_sent(self: Any) -> Any:
        answer = create_model(self)
        model = self.sagemaker_backend.describe_model(self._get_param("ModelName"))
        model.enable_network_isolation = bool(self._get_param("EnableNetworkIsolation", False))
        model.vpc_config = self._get_param("VpcConfig") or None
        return answer

    def describe_endpoint_config_as_created(self: Any) -> Any:
        config = dict(self.sagemaker_backend.describe_endpoint_config(self._get_param("EndpointConfigName")))
        if not (config.get("DataCaptureConfig") or {}).get("DestinationS3Uri"):
            config.pop("DataCaptureConfig", None)
        return ActionResult(config)

    def create_endpoint_keeping_deployment_config(self: Any) -> Any:
        answer = create_endpoint(self)
        if self._get_param("DeploymentConfig"):
            deployment_configs[self._get_param("EndpointName")] = self._get_param("DeploymentConfig")
        return answer

    def describe_endpoint_with_deployment_config(self: Any) -> Any:
        name = self._get_param("EndpointName")
        endpoint = dict(self.sagemaker_backend.describe_endpoint(name))
        if name in deployment_configs:
            endpoint["LastDeploymentConfig"] = deployment_configs[name]
        return ActionResult(endpoint)

    def update_endpoint(self: Any) -> Any:
        name, config = self._get_param("EndpointName"), self._get_param("EndpointConfigName")
        endpoint = self.sagemaker_backend.endpoints[name]  # KeyError -> moto's 500: not a path we take
        self.sagemaker_backend.describe_endpoint_config(config)  # ValidationException when it is missing
        ROLLBACK.calls.append(("UpdateEndpoint", config))
        endpoint.last_modified_time = utcnow()  # updated, whether the update then sticks or not
        if not ROLLBACK.on:
            endpoint.endpoint_config_name = config
        if self._get_param("DeploymentConfig"):
            deployment_configs[name] = self._get_param("DeploymentConfig")
        return ActionResult({"EndpointArn": endpoint.arn})

    def delete_endpoint_and_its_config(self: Any) -> Any:
        deployment_configs.pop(self._get_param("EndpointName"), None)
        return delete_endpoint(self)

    def logged(operation: str, param: str, original: Any) -> Any:
        def call(self: Any) -> Any:
            ROLLBACK.calls.append((operation, self._get_param(param)))
            return original(self)

        return call

    delete_endpoint = SageMaker.delete_endpoint
    with (
        patched(
            Scaling,
            register_scalable_target=register_with_tags,
            tag_resource=tag_resource,
            untag_resource=untag_resource,
            list_tags_for_resource=list_tags_for_resource,
        ),
        patched(
            SageMaker,
            create_model=create_model_as_sent,
            describe_endpoint_config=describe_endpoint_config_as_created,
            create_endpoint=create_endpoint_keeping_deployment_config,
            describe_endpoint=describe_endpoint_with_deployment_config,
            update_endpoint=update_endpoint,
            delete_endpoint=delete_endpoint_and_its_config,
            delete_endpoint_config=logged(
                "DeleteEndpointConfig", "EndpointConfigName", SageMaker.delete_endpoint_config
            ),
            delete_model=logged("DeleteModel", "ModelName", SageMaker.delete_model),
        ),
    ):
        ROLLBACK.on, ROLLBACK.calls = False, []
        yield ROLLBACK
