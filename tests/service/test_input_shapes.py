"""The REST API's typed bodies (``service.inputs``) carry the API's own limits, but the
properties they accept are the core shapes' (``pcinet.core.schema``), which the file formats
use too: a property added to a shape and not to its body (or the other way round) fails
here, instead of being accepted by one input path and refused by the other."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from pcinet.core.schema import DeviceFile, FlavorFile, SegmentFile, keys_of
from pcinet.fileschema import HostCellFile, HostFile
from pcinet.service.inputs.hosts import Cell, DeviceReport, HostReport
from pcinet.service.inputs.networks import SegmentBody
from pcinet.service.inputs.servers import FlavorBody

# (API body, core shape, the shape's properties the body leaves out on purpose)
SAME_PROPERTIES: list[tuple[type[BaseModel], type[BaseModel], frozenset[str]]] = [
    (FlavorBody, FlavorFile, frozenset()),
    (SegmentBody, SegmentFile, frozenset()),
    (Cell, HostCellFile, frozenset()),
    # a host is enabled or disabled through PUT /v1/hosts/{name}/disabled, not its report
    (HostReport, HostFile, frozenset({"disabled"})),
]


@pytest.mark.parametrize(
    ("body", "shape", "left_out"), SAME_PROPERTIES, ids=lambda x: getattr(x, "__name__", "")
)
def test_an_api_body_accepts_its_shapes_properties(
    body: type[BaseModel], shape: type[BaseModel], left_out: frozenset[str]
) -> None:
    assert keys_of(body) == keys_of(shape) - left_out


def test_a_device_report_declares_only_device_properties() -> None:
    # The rest pass through to the core parser, which knows them from DeviceFile.
    assert DeviceReport.model_config.get("extra") == "allow"
    assert keys_of(DeviceReport) < keys_of(DeviceFile)
