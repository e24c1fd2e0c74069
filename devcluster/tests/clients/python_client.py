"""The official Kubernetes Python client against devcluster.

Usage: python3 python_client.py KUBECONFIG
Exits non-zero (with the failing assertion) if any step disagrees with a real apiserver.
"""
import sys

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

config.load_kube_config(config_file=sys.argv[1])
core = client.CoreV1Api()
custom = client.CustomObjectsApi()
ext = client.ApiextensionsV1Api()

# Core: create, get, list with a label selector, 409 on a duplicate, 404 after delete.
cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py", labels={"from": "python"}), data={"k": "v"})
created = core.create_namespaced_config_map("default", cm)
assert created.metadata.uid, created
assert core.read_namespaced_config_map("py", "default").data == {"k": "v"}
listed = core.list_namespaced_config_map("default", label_selector="from=python")
assert [c.metadata.name for c in listed.items] == ["py"], listed
assert listed.metadata.resource_version
try:
    core.create_namespaced_config_map("default", cm)
    raise AssertionError("duplicate create succeeded")
except ApiException as e:
    assert e.status == 409, e

# Watch from the list's resourceVersion sees a change made after it.
core.patch_namespaced_config_map("py", "default", {"data": {"k": "w"}})
w = watch.Watch()
seen = []
for event in w.stream(core.list_namespaced_config_map, "default", resource_version=listed.metadata.resource_version, timeout_seconds=5):
    seen.append((event["type"], event["object"].metadata.name))
    if event["type"] == "MODIFIED":
        w.stop()
assert ("MODIFIED", "py") in seen, seen

# Custom resources through a CRD, then cleanup.
crds = [c.metadata.name for c in ext.list_custom_resource_definition().items]
assert "gadgets.test.hoist.dev" in crds, crds
body = {"apiVersion": "test.hoist.dev/v1", "kind": "Gadget", "metadata": {"name": "py"}, "spec": {"size": 2}}
custom.create_namespaced_custom_object("test.hoist.dev", "v1", "default", "gadgets", body)
got = custom.get_namespaced_custom_object("test.hoist.dev", "v1", "default", "gadgets", "py")
assert got["spec"] == {"size": 2}, got
custom.delete_namespaced_custom_object("test.hoist.dev", "v1", "default", "gadgets", "py")
core.delete_namespaced_config_map("py", "default")
try:
    core.read_namespaced_config_map("py", "default")
    raise AssertionError("deleted object still readable")
except ApiException as e:
    assert e.status == 404, e
# A Deployment, read back as available once devcluster's controllers have played it.
apps = client.AppsV1Api()
labels = {"app": "py-web"}
dep = client.V1Deployment(
    metadata=client.V1ObjectMeta(name="py-web"),
    spec=client.V1DeploymentSpec(
        replicas=2,
        selector=client.V1LabelSelector(match_labels=labels),
        template=client.V1PodTemplateSpec(
            metadata=client.V1ObjectMeta(labels=labels),
            spec=client.V1PodSpec(containers=[client.V1Container(name="web", image="nginx:1.27")]),
        ),
    ),
)
created = apps.create_namespaced_deployment("default", dep)
w = watch.Watch()
available = None
for event in w.stream(apps.list_namespaced_deployment, "default", field_selector="metadata.name=py-web",
                      resource_version=created.metadata.resource_version, timeout_seconds=30):
    d = event["object"]
    if d.status and d.status.available_replicas == 2:
        available = d
        w.stop()
assert available is not None, "the Deployment never became available"
read = apps.read_namespaced_deployment("py-web", "default")
conditions = {c.type: c.status for c in read.status.conditions}
assert conditions.get("Available") == "True", conditions
assert read.status.observed_generation == read.metadata.generation, read.status
apps.delete_namespaced_deployment("py-web", "default")
print("python client: ok")
