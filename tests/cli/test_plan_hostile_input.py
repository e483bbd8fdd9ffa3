"""Regressions from issue 10 ("Crashes on bad input", "Unbounded time and memory"): each of
these gave a Python traceback and exit 1; each is now exit 2 naming the file and field."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import yaml
from typer.testing import CliRunner

from pcinet.cli.main import app
from pcinet.core.limits import MAX_DEPTH

SEED = Path(__file__).parents[2] / "examples" / "seed"
runner = CliRunner()
DEVICE = '{address: "0000:3b:00.0", vendor_id: "8086", product_id: "1572", dev_type: type-PF'
FLAVOR_ONLY = "flavor: {vcpus: 1, memory_mb: 512}\n"


def one_host(device_rest: str, memory_mb: int = 1) -> str:
    """A cloud of one host with one PF device, ``device_rest`` appended to its object."""
    device = f"{DEVICE}, {device_rest}}}"
    return f"hosts:\n  - {{name: a, vcpus: 1, memory_mb: {memory_mb}, devices: [{device}]}}\n"


def run(*args: str) -> tuple[int, Any]:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, json.loads(result.stdout)


def file(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return str(path)


def plan_cloud(tmp_path: Path, cloud: str | bytes) -> tuple[int, dict[str, Any]]:
    return run("plan", file(tmp_path, "c.yaml", cloud), file(tmp_path, "r.yaml", FLAVOR_ONLY))


def plan_request(tmp_path: Path, request: str) -> tuple[int, dict[str, Any]]:
    return run("plan", str(SEED / "cloud.yaml"), file(tmp_path, "r.yaml", request))


def assert_invalid(code: int, out: dict[str, Any], starts: str, *words: str) -> None:
    assert code == 2, out
    message = out["error"]["message"]
    assert message.startswith(starts), message
    for word in words:
        assert word in message, message


def test_non_utf8_file_is_exit_2(tmp_path: Path) -> None:
    code, out = plan_cloud(tmp_path, b"hosts: []\nx: '\xff\xfe'\n")
    assert_invalid(code, out, f"{tmp_path}/c.yaml: not UTF-8 text", "byte 14")


def test_yaml_integer_of_5000_digits_is_exit_2(tmp_path: Path) -> None:
    code, out = plan_cloud(tmp_path, "hosts:\n  - {name: a, vcpus: " + "9" * 5000 + "}\n")
    assert_invalid(code, out, f"{tmp_path}/c.yaml: hosts[0].vcpus: an integer", "out of range")
    assert out["error"]["field"] == "hosts[0].vcpus"


def test_5000_nested_brackets_are_exit_2(tmp_path: Path) -> None:
    code, out = plan_cloud(tmp_path, "hosts: " + "[" * 5000 + "]" * 5000 + "\n")
    assert_invalid(code, out, f"{tmp_path}/c.yaml: hosts[0]", f"more than {MAX_DEPTH} levels")


def test_hw_numa_nodes_of_5000_digits_is_exit_2(tmp_path: Path) -> None:
    spec = {"hw:numa_nodes": "9" * 5000}
    request = yaml.safe_dump({"flavor": {"vcpus": 1, "memory_mb": 512, "extra_specs": spec}})
    code, out = plan_request(tmp_path, request)
    assert_invalid(code, out, f"{tmp_path}/r.yaml: flavor.extra_specs.hw:numa_nodes", "above")
    assert len(out["error"]["message"]) < 300  # the number is not echoed in full


def test_alias_count_of_5000_digits_is_exit_2(tmp_path: Path) -> None:
    spec = {"pci_passthrough:alias": "gpu:" + "9" * 5000}
    request = yaml.safe_dump({"flavor": {"vcpus": 1, "memory_mb": 512, "extra_specs": spec}})
    code, out = plan_request(tmp_path, request)
    assert_invalid(
        code, out, f"{tmp_path}/r.yaml: flavor.extra_specs.pci_passthrough:alias", "limit of 1024"
    )


def profile_request(profile: str) -> str:
    return FLAVOR_ONLY + (
        "ports:\n  - {network: net1, 'binding:vnic_type': direct, 'binding:profile': "
        + profile
        + "}\n"
    )


def test_date_in_binding_profile_stays_a_string_with_json(tmp_path: Path) -> None:
    code, out = plan_request(tmp_path, profile_request("{when: 2020-01-01}"))
    assert code == 0
    assert out["ports"][0]["binding:profile"]["when"] == "2020-01-01"


def test_binary_in_binding_profile_is_exit_2(tmp_path: Path) -> None:
    code, out = plan_request(tmp_path, profile_request("{b: !!binary aGVsbG8=}"))
    assert_invalid(code, out, f"{tmp_path}/r.yaml: ports[0].binding:profile.b", "!!binary")


def test_self_referencing_anchor_in_binding_profile_is_exit_2(tmp_path: Path) -> None:
    code, out = plan_request(tmp_path, profile_request("&a {x: *a}"))
    assert_invalid(code, out, f"{tmp_path}/r.yaml: ports[0].binding:profile", "anchors")


def test_mixed_key_types_in_a_host_are_exit_2(tmp_path: Path) -> None:
    code, out = plan_cloud(tmp_path, "hosts:\n  - {name: a, vcpus: 1, memory_mb: 1, 1: 2, z: 3}\n")
    assert_invalid(code, out, f"{tmp_path}/c.yaml: hosts[0]: key 1 is not a string")


def test_mixed_key_types_in_a_device_are_exit_2(tmp_path: Path) -> None:
    code, out = plan_cloud(tmp_path, one_host("3: x, z: 1"))
    assert_invalid(code, out, f"{tmp_path}/c.yaml: hosts[0].devices[0]: key 3 is not a string")


def test_list_as_a_tag_value_without_device_spec_is_exit_2(tmp_path: Path) -> None:
    tags = "tags: {physical_network: [phy1]}"
    cloud = (
        f"hosts:\n  - name: a\n    vcpus: 1\n    memory_mb: 1\n    devices: [{DEVICE}, {tags}}}]\n"
    )
    code, out = plan_cloud(tmp_path, cloud)
    assert_invalid(
        code, out, f"{tmp_path}/c.yaml: hosts[0].devices[0].tags.physical_network", "string"
    )


def test_list_as_another_tag_value_is_accepted(tmp_path: Path) -> None:
    tags = "tags: {physical_network: phy1, colours: [red]}"
    code, out = plan_cloud(tmp_path, one_host(tags, memory_mb=512))
    assert code == 0 and out["host"] == "a"


def test_self_referencing_anchor_in_device_tags_is_exit_2(tmp_path: Path) -> None:
    code, out = plan_cloud(tmp_path, one_host("tags: &t {x: *t}"))
    assert_invalid(code, out, f"{tmp_path}/c.yaml: hosts[0].devices[0].tags", "anchors")


def test_alias_expansion_bomb_is_refused_at_once(tmp_path: Path) -> None:
    """The 780-byte file that took 44 s and 808 MB: refused before any expansion."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    started = time.perf_counter()
    code, out = plan_cloud(tmp_path, "\n".join(lines) + "\nhosts: []\n")
    assert time.perf_counter() - started < 2
    assert_invalid(code, out, f"{tmp_path}/c.yaml: a0", "anchors and aliases are not allowed")


def test_lone_surrogate_in_a_host_name_is_exit_2(tmp_path: Path) -> None:
    code, out = plan_cloud(tmp_path, 'hosts:\n  - {name: "a\\udc80", vcpus: 1, memory_mb: 1}\n')
    assert_invalid(code, out, f"{tmp_path}/c.yaml: hosts[0].name: not valid Unicode")


def test_devspec_match_with_a_huge_integer_is_exit_2(tmp_path: Path) -> None:
    devices = file(tmp_path, "d.yaml", "[]\n")
    spec = '{"physical_network": "phy1", "x": ' + "9" * 5000 + "}"
    code, out = run("devspec", "match", spec, "--devices", devices)
    assert_invalid(code, out, "device_spec[0]: not valid JSON", "digits")


def test_devspec_match_with_deep_nesting_is_exit_2(tmp_path: Path) -> None:
    devices = file(tmp_path, "d.yaml", "[]\n")
    spec = '{"x": ' + "[" * 5000 + "]" * 5000 + "}"
    code, out = run("devspec", "match", spec, "--devices", devices)
    assert_invalid(code, out, "device_spec[0]", "levels deep")


def test_devspec_match_never_prints_nan(tmp_path: Path) -> None:
    devices = file(tmp_path, "d.yaml", "[]\n")
    for constant in ("NaN", "Infinity", "-Infinity"):
        code, out = run("devspec", "match", '{"x": ' + constant + "}", "--devices", devices)
        assert_invalid(code, out, "device_spec[0]: not valid JSON", constant)
    code, out = run("devspec", "match", '{"x": 1e999}', "--devices", devices)
    assert_invalid(code, out, "device_spec[0].x", "not a finite number")


def test_yaml_nan_in_a_cloud_file_is_exit_2(tmp_path: Path) -> None:
    code, out = plan_cloud(tmp_path, one_host("tags: {x: .nan}"))
    assert_invalid(code, out, f"{tmp_path}/c.yaml: hosts[0].devices[0].tags.x", "finite")


def test_every_rejected_host_gets_a_verdict_on_exit_1(tmp_path: Path) -> None:
    """Regression: on exit 1 ``error.hosts`` silently kept 50 hosts."""
    hosts = "".join(f"  - {{name: h{i:03d}, vcpus: 1, memory_mb: 256}}\n" for i in range(120))
    code, out = plan_cloud(tmp_path, "hosts:\n" + hosts)
    assert code == 1
    error = out["error"]
    assert len(error["hosts"]) == error["hosts_total"] == 120
    assert error["reasons"] == [
        {
            "code": "compute.memory",
            "message": "not enough free memory: 512 MB needed, 256 MB free",
            "count": 120,
        }
    ]
