"""The official Kubernetes Python client (Debian's python3-kubernetes) against a real hikube.

Driven by test/e2e/python-client.test.ts: typed and custom-object create, list, patch, watch and
delete, as a user of that client writes them. Prints one line per step; any failure raises, so
the exit status is non-zero. Usage: client_e2e.py KUBECONFIG NAMESPACE
"""

import sys
import time

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

KUBEVIRT = ("kubevirt.io", "v1")
TIMEOUT_S = 20


def step(name):
    print("ok " + name, flush=True)


def wait_gone(read, what):
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            read()
        except ApiException as err:
            if err.status == 404:
                return
            raise
        time.sleep(0.05)
    raise AssertionError(what + " still exists after delete")


def first_event(stream, wanted):
    """The first event of a watch for which wanted(event) holds; the watch ends by timeout."""
    for event in stream:
        if wanted(event):
            return event
    raise AssertionError("the watch ended without the expected event")


def typed(core, ns):
    body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py-cm", labels={"from": "python"}), data={"a": "1"})
    created = core.create_namespaced_config_map(ns, body)
    assert created.metadata.namespace == ns and created.data == {"a": "1"}, created
    step("typed create")

    listed = core.list_namespaced_config_map(ns, label_selector="from=python")
    assert [c.metadata.name for c in listed.items] == ["py-cm"], listed.items
    step("typed list")

    patched = core.patch_namespaced_config_map("py-cm", ns, {"data": {"b": "2"}})
    assert patched.data == {"a": "1", "b": "2"}, patched.data
    step("typed patch")

    # A watch resumed from the create's version replays the patch (?watch=True on the wire).
    w = watch.Watch()
    event = first_event(
        w.stream(core.list_namespaced_config_map, ns, resource_version=created.metadata.resource_version,
                 timeout_seconds=TIMEOUT_S),
        lambda e: e["type"] == "MODIFIED" and e["object"].metadata.name == "py-cm",
    )
    w.stop()
    assert isinstance(event["object"], client.V1ConfigMap) and event["object"].data["b"] == "2", event
    step("typed watch")

    core.delete_namespaced_config_map("py-cm", ns)
    wait_gone(lambda: core.read_namespaced_config_map("py-cm", ns), "configmap py-cm")
    step("typed delete")

    nodes = core.list_node()
    assert len(nodes.items) >= 1, nodes
    info = nodes.items[0].status.node_info
    for field in ("boot_id", "machine_id", "system_uuid", "kernel_version", "os_image", "container_runtime_version",
                  "kubelet_version", "kube_proxy_version", "operating_system", "architecture"):
        assert getattr(info, field), field + " is empty"
    assert info.container_runtime_version.startswith("qemu://"), info.container_runtime_version
    step("list_node " + info.kubelet_version + " " + info.container_runtime_version)


def custom(objects, ns):
    group, version = KUBEVIRT
    vm = {
        "apiVersion": group + "/" + version,
        "kind": "VirtualMachine",
        "metadata": {"name": "py-vm"},
        "spec": {
            "runStrategy": "Halted",
            "template": {"spec": {"domain": {"devices": {}, "memory": {"guest": "128Mi"}}}},
        },
    }
    created = objects.create_namespaced_custom_object(group, version, ns, "virtualmachines", vm)
    assert created["metadata"]["namespace"] == ns and created["spec"]["runStrategy"] == "Halted", created
    step("custom create")

    listed = objects.list_namespaced_custom_object(group, version, ns, "virtualmachines")
    assert [o["metadata"]["name"] for o in listed["items"]] == ["py-vm"], listed
    step("custom list")

    patched = objects.patch_namespaced_custom_object(group, version, ns, "virtualmachines", "py-vm",
                                                     {"metadata": {"labels": {"tier": "py"}}})
    assert patched["metadata"]["labels"]["tier"] == "py", patched["metadata"]
    step("custom patch")

    w = watch.Watch()
    event = first_event(
        w.stream(objects.list_namespaced_custom_object, group, version, ns, "virtualmachines",
                 resource_version=created["metadata"]["resourceVersion"], timeout_seconds=TIMEOUT_S),
        lambda e: e["type"] == "MODIFIED" and e["object"]["metadata"].get("labels", {}).get("tier") == "py",
    )
    w.stop()
    assert event["object"]["metadata"]["name"] == "py-vm", event
    step("custom watch")

    objects.delete_namespaced_custom_object(group, version, ns, "virtualmachines", "py-vm")
    wait_gone(lambda: objects.get_namespaced_custom_object(group, version, ns, "virtualmachines", "py-vm"),
              "virtualmachine py-vm")
    step("custom delete")


def main():
    kubeconfig, ns = sys.argv[1], sys.argv[2]
    config.load_kube_config(config_file=kubeconfig)
    core = client.CoreV1Api()
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    step("namespace " + ns)
    typed(core, ns)
    custom(client.CustomObjectsApi(), ns)
    print("done", flush=True)


if __name__ == "__main__":
    main()
