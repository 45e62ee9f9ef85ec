"""The MQTT client id carries a per-machine part, so a synced home folder does not make two computers collide."""

from __future__ import annotations

import re

from pydt_tray.push.config import CLIENT_ID_PREFIX, MAX_CLIENT_ID_LENGTH, machine_part, make_client_id

INSTALL_ID = "0123456789abcdef0123456789abcdef"


def test_the_same_install_on_two_machines_gets_two_client_ids(tmp_path):
    first, second = tmp_path / "first-machine-id", tmp_path / "second-machine-id"
    first.write_text("4c4c4544003510508052b4c04f4e3532\n")
    second.write_text("a1b2c3d4e5f60718293a4b5c6d7e8f90\n")
    part_one, part_two = machine_part([first]), machine_part([second])
    assert part_one != part_two
    assert machine_part([first]) == part_one  # stable on one machine
    assert make_client_id(INSTALL_ID, part_one) != make_client_id(INSTALL_ID, part_two)


def test_the_default_client_id_includes_this_machine():
    client_id = make_client_id(INSTALL_ID)
    assert client_id == f"{CLIENT_ID_PREFIX}{INSTALL_ID}-{machine_part()}"
    assert re.fullmatch(r"[A-Za-z0-9_-]+", client_id)


def test_without_a_machine_id_file_the_host_identity_is_used(tmp_path):
    part = machine_part([tmp_path / "missing"])
    assert re.fullmatch(r"[0-9a-f]{8}", part)


def test_a_long_install_id_keeps_the_machine_part_within_the_limit():
    client_id = make_client_id("x" * 500, "abcd1234")
    assert len(client_id) == MAX_CLIENT_ID_LENGTH and client_id.endswith("-abcd1234")
