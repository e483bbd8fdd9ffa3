import pytest

from pcinet.core.nics import CX5, E810, MODELS, X710


@pytest.mark.parametrize(
    ("model", "pf", "index", "expected"),
    [
        (X710, "0000:3b:00.0", 0, "0000:3b:02.0"),
        (X710, "0000:3b:00.0", 63, "0000:3b:09.7"),
        (X710, "0000:3b:00.1", 0, "0000:3b:0a.0"),
        (E810, "0000:51:00.0", 0, "0000:51:01.0"),
        (E810, "0000:51:00.1", 0, "0000:51:11.0"),
        (E810, "0000:51:00.1", 127, "0000:52:00.7"),  # past the PF's bus: the next one
        (CX5, "0000:5e:00.0", 0, "0000:5e:00.2"),
        (CX5, "0000:5e:00.1", 126, "0000:5e:1f.7"),
    ],
)
def test_vf_addresses_follow_the_sriov_capability(model, pf, index, expected):
    assert model.vf_address(pf, index) == expected


def test_vfs_of_all_ports_never_collide():
    for model in MODELS.values():
        pfs = [f"0000:3b:00.{port}" for port in range(model.ports)]
        addresses = {model.vf_address(pf, i) for pf in pfs for i in range(model.max_vfs)}
        assert len(addresses) == model.ports * model.max_vfs
        assert not addresses & set(pfs)


@pytest.mark.parametrize("index", [-1, 64])
def test_vf_index_out_of_range_is_refused(index):
    with pytest.raises(ValueError, match=r"VFs 0\.\.63"):
        X710.vf_address("0000:3b:00.0", index)


def test_past_the_last_bus_is_refused():
    with pytest.raises(ValueError, match="past bus ff"):
        E810.vf_address("0000:ff:00.1", 127)
