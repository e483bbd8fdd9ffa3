"""Schemathesis against ``/openapi.json`` of a real server over HTTP, every operation and
every check (no 5xx, answers that match the documented statuses, content types, headers
and schemas, schema-invalid input refused, schema-valid input accepted), seeded and
derandomized, with a bounded number of examples (issue 9).

Schema-valid input may still break a rule JSON Schema cannot state (a VLAN id in 1-4094
for a vlan segment but not for vxlan, a physnet that ``network_vlan_ranges`` knows, a PF
listed before its VFs): for the operations with such rules, 400 is an accepted answer to
schema-valid input; everywhere else it is a failure."""

from __future__ import annotations

import collections
import os
from typing import Any

import schemathesis
from schemathesis.engine import events

from tests.api.conftest import Api, Start, host_report

# A longer run: PCINET_FUZZ_EXAMPLES=200 pytest tests/api/test_fuzz.py -s
MAX_EXAMPLES = int(os.environ.get("PCINET_FUZZ_EXAMPLES", "20"))
SEED = 9
DOMAIN_RULES = [
    ("POST", "/v1/networks"),
    ("POST", "/v1/ports"),
    ("POST", "/v1/servers"),
    ("PUT", "/v1/hosts/{name}"),
    ("PUT", "/v1/pci/aliases"),
    ("GET", "/v1/capacity"),  # a network name given to several networks; flavor rules
    ("POST", "/v1/why-not"),  # the same, and a port listed twice
]


def _seed(api: Api) -> None:
    """Something of every kind, so that lists and gets answer real bodies."""
    api.report_host("cn1", host_report(vfs=4))
    net = api.vlan_network("net1", "phy1", 100)
    port = api.port(net["id"])
    api.boot([port["id"]])
    api.port(net["id"], "normal", description="spare")
    api.put("/v1/pci/aliases", [{"name": "gpu", "vendor_id": "10de", "product_id": "20b5"}])


def _config(token: str) -> Any:
    accept_400 = ["2xx", "400", "401", "403", "404", "409", "503"]
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "headers": {"Authorization": f"Bearer {token}"},
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
                "allow-x00": False,  # NUL is refused (400): tests/api/test_hostile.py
            },
            "checks": {"enabled": True},
            "phases": {"stateful": {"enabled": True, "max-steps": 10}},
            "operations": [
                {
                    "include-path": path,
                    "include-method": method,
                    "checks": {"positive_data_acceptance": {"expected-statuses": accept_400}},
                }
                for method, path in DOMAIN_RULES
            ],
        }
    )


def test_schemathesis_finds_no_5xx_and_no_conformance_failure(start: Start) -> None:
    api = start()
    _seed(api)
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json", config=_config(api.token))
    failures: dict[tuple[str, str], str] = {}
    errors: list[str] = []
    cases: collections.Counter[str] = collections.Counter()
    for event in schemathesis.engine.from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished | events.FuzzScenarioFinished):
            recorder = event.recorder
            cases[recorder.label] += len(recorder.cases)
            for checks in recorder.checks.values():
                for check in checks:
                    if check.failure_info is not None:
                        failure = check.failure_info.failure
                        key = (recorder.label, check.name)
                        failures.setdefault(key, f"{failure.title}: {failure.message}"[:500])
        elif isinstance(event, events.NonFatalError | events.FatalError):
            errors.append(str(event.info.message if hasattr(event, "info") else event)[:500])
    assert not errors, errors
    assert not failures, "\n".join(f"{k}: {v}" for k, v in sorted(failures.items()))
    operations = {
        f"{method.upper()} {path}"
        for path, item in schema.raw_schema["paths"].items()
        for method in item
    }
    print(f"\nfuzz: {sum(cases.values())} cases, {len(operations)} operations")
    assert operations <= set(cases), sorted(operations - set(cases))
    assert sum(cases.values()) >= 20 * len(operations), cases
