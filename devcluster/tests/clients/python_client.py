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

# A ServiceAccount token from TokenRequest: authenticated, then confined by RBAC.
core.create_namespaced_service_account("default", client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="py-reader")))
issued = core.create_namespaced_service_account_token(
    "py-reader", "default", client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[])))
assert issued.status.token, issued
as_sa = client.Configuration.get_default_copy()
as_sa.api_key = {"authorization": "Bearer " + issued.status.token}
as_sa.refresh_api_key_hook = None  # else it reloads the kubeconfig's (admin) token
reader = client.CoreV1Api(client.ApiClient(as_sa))
try:
    reader.list_namespaced_config_map("default")
    raise AssertionError("an unbound ServiceAccount listed ConfigMaps")
except ApiException as e:
    assert e.status == 403, e
    assert ('configmaps is forbidden: User \\"system:serviceaccount:default:py-reader\\" cannot list resource '
            '\\"configmaps\\" in API group \\"\\" in the namespace \\"default\\"') in e.body, e.body
rbac = client.RbacAuthorizationV1Api()
rbac.create_namespaced_role_binding("default", client.V1RoleBinding(
    metadata=client.V1ObjectMeta(name="py-reader-view"),
    role_ref=client.V1RoleRef(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="view"),
    subjects=[client.RbacV1Subject(kind="ServiceAccount", name="py-reader", namespace="default")]))
reader.list_namespaced_config_map("default")
try:
    reader.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="nope")))
    raise AssertionError("view created a ConfigMap")
except ApiException as e:
    assert e.status == 403, e
print("python client: ok")
