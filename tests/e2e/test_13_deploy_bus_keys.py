"""The deployment files run the bus with CURVE: checked statically, since no
container engine runs here. Every Kubernetes manifest parses and is listed in
the kustomization; every Deployment mounts exactly the keys its process
reads (its own secret and the broker's public key; the broker its secret and
every kind's public key) from the Secret parley-bus-keys; a NetworkPolicy
admits only Parley's pods to the broker's port; docker-compose.yml gives
every process the keys volume, written once by a one-shot keygen."""
import re
from pathlib import Path

import yaml

from conftest import ROOT

K8S = ROOT / "deploy" / "k8s"
MOUNT_ENV = "PARLEY_BUS_KEYS_DIR"


def kinds():
    """The kinds parley-broker keygen makes keys for (services/broker/keygen.h)."""
    text = (ROOT / "services" / "broker" / "keygen.h").read_text()
    m = re.search(r"#define KEYGEN_KINDS (.*)", text)
    return re.findall(r'"([a-z0-9_-]+)"', m.group(1))


def manifests():
    docs = {}
    for f in sorted(K8S.glob("*.yaml")):
        docs[f.name] = [d for d in yaml.safe_load_all(f.read_text()) if d is not None]
    return docs


def deployments():
    return {d["metadata"]["name"]: d for docs in manifests().values() for d in docs if d["kind"] == "Deployment"}


def env_of(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def test_every_deployment_mounts_only_the_bus_keys_its_process_reads():
    # Every manifest parses, and the kustomization applies every one.
    docs = manifests()
    kustomization = docs.pop("kustomization.yaml")[0]
    assert sorted(kustomization["resources"]) == sorted(docs)
    deps = deployments()
    want = {f"parley-{k}": {f"{k}.key", "broker.pub"} for k in kinds()}
    want["parley-broker"] = {"broker.key"} | {f"{k}.pub" for k in kinds()}
    assert set(deps) == set(want), "a Deployment for every kind and the broker"
    for name, dep in deps.items():
        pod = dep["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        path = env_of(container).get(MOUNT_ENV)
        assert path, f"{name}: no {MOUNT_ENV}"
        mounts = [m for m in container.get("volumeMounts", []) if m["mountPath"] == path]
        assert len(mounts) == 1 and mounts[0].get("readOnly") is True, name
        (volume,) = [v for v in pod["volumes"] if v["name"] == mounts[0]["name"]]
        secret = volume["secret"]
        assert secret["secretName"] == "parley-bus-keys", name
        items = {i["key"] for i in secret["items"]}
        assert items == want[name], (name, items)
        assert all(i["path"] == i["key"] for i in secret["items"]), name
        # Readable by the pod's group (fsGroup), never by others: the binaries refuse that.
        assert secret["defaultMode"] & 0o007 == 0, name
        assert pod["securityContext"].get("fsGroup") == pod["securityContext"].get("runAsGroup"), name


def test_the_broker_listens_beyond_loopback_only_with_keys():
    broker = deployments()["parley-broker"]
    (container,) = broker["spec"]["template"]["spec"]["containers"]
    env = env_of(container)
    assert env["PARLEY_BROKER_BIND"].startswith("tcp://*:")
    assert env.get(MOUNT_ENV)


def test_a_network_policy_admits_only_parleys_pods_to_the_broker_port():
    docs = [d for ds in manifests().values() for d in ds]
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    broker = deployments()["parley-broker"]
    labels = broker["spec"]["template"]["metadata"]["labels"]
    (container,) = broker["spec"]["template"]["spec"]["containers"]
    port = next(p["containerPort"] for p in container["ports"] if p["name"] == "bus")
    selecting = [p for p in policies
                 if all(labels.get(k) == v for k, v in p["spec"]["podSelector"]["matchLabels"].items())]
    assert len(selecting) == 1, "one NetworkPolicy selects the broker's pods"
    kustomization = manifests()["kustomization.yaml"][0]
    assert any(selecting[0] in manifests()[f] for f in kustomization["resources"]), "and it is applied"
    spec = selecting[0]["spec"]
    assert "Ingress" in spec["policyTypes"]
    (rule,) = spec["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": "parley"}}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": port}]
    # Every Parley pod carries that label, so each can reach the broker.
    for dep in deployments().values():
        assert dep["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/part-of"] == "parley"


def test_compose_gives_every_process_the_keys_volume_written_once_by_keygen():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    keygen = services["bus-keys"]
    assert keygen["command"][:2] == ["parley-broker", "keygen"]
    keys_dir = keygen["command"][2]
    assert f"bus-keys:{keys_dir}" in keygen["volumes"]
    assert "bus-keys" in compose["volumes"]
    processes = {name: s for name, s in services.items() if s.get("image") == "parley:local"
                 and name not in ("bus-keys", "seed")}
    assert set(processes) == set(kinds()) | {"broker"}
    for name, s in processes.items():
        assert s["environment"].get(MOUNT_ENV) == keys_dir, name
        assert f"bus-keys:{keys_dir}:ro" in s["volumes"], name
        assert s["depends_on"]["bus-keys"]["condition"] == "service_completed_successfully", name
    assert services["broker"]["environment"]["PARLEY_BROKER_BIND"].startswith("tcp://*:")


def test_the_stack_and_keygen_agree_on_the_kinds():
    common = (ROOT / "scripts" / "lib" / "common.sh").read_text()
    services = re.search(r"^PARLEY_SERVICES=\(([^)]*)\)", common, re.M).group(1).split()
    assert set(kinds()) == set(services) | {"gateway"}
