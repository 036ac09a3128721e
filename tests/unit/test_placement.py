"""Placement: which workers an experiment gets on which devices (workbench.placement), for
every form of the devices setting and CUDA_VISIBLE_DEVICES as a GPU box sets it."""

from __future__ import annotations

import dataclasses

import pytest

from synthdiv.errors import ConfigError, SynthdivError
from workbench.config import parse_config, to_table
from workbench.defaults import default_experiment
from workbench.placement import check_devices, local_device, plan, seats, visible_gpus


@pytest.mark.parametrize(("listed", "count", "gpus"), [
    (None, 0, []), (None, 2, ["0", "1"]), ("0,1", 2, ["0", "1"]), ("2", 1, ["2"]), ("", 0, []),
    ("GPU-5f1c,GPU-9a2e", 2, ["GPU-5f1c", "GPU-9a2e"]),
])
def test_visible_gpus_follow_cuda_visible_devices(listed, count, gpus):
    env = {} if listed is None else {"CUDA_VISIBLE_DEVICES": listed}
    assert visible_gpus(env, count) == gpus


def _where(seat_list):
    return [(s.device, dict(s.env).get("CUDA_VISIBLE_DEVICES")) for s in seat_list]


def test_auto_puts_a_generation_worker_on_every_gpu_and_one_embedding_worker_on_the_last():
    # no CUDA_VISIBLE_DEVICES, two GPUs
    assert _where(seats("generation", "auto", "each", ["0", "1"])) == [("cuda:0", "0"), ("cuda:1", "1")]
    assert _where(seats("embedding", "auto", "one", ["0", "1"])) == [("cuda:1", "1")]
    # CUDA_VISIBLE_DEVICES=2: torch sees one GPU, cuda:0, which the driver calls 2
    assert _where(seats("generation", "auto", "each", visible_gpus({"CUDA_VISIBLE_DEVICES": "2"}, 1))) == [("cuda:0", "2")]
    assert _where(seats("embedding", "auto", "one", ["2"])) == [("cuda:0", "2")]


def test_auto_without_a_gpu_is_one_cpu_worker_of_each_kind_as_before():
    for kind, role in (("generation", "each"), ("embedding", "one")):
        (seat,) = seats(kind, "auto", role, visible_gpus({"CUDA_VISIBLE_DEVICES": ""}, 0))
        assert seat.device == "cpu" and local_device(seat.device) == "cpu" and seat.threads == 0
        assert dict(seat.env) == {"CUDA_VISIBLE_DEVICES": ""}  # a CPU worker never touches a GPU


def test_a_list_places_one_worker_per_device_and_a_missing_gpu_is_named():
    assert _where(seats("generation", "cuda:0,cuda:2", "each", ["0", "1", "2"])) == [("cuda:0", "0"), ("cuda:2", "2")]
    assert _where(seats("generation", "cuda:1", "each", ["4", "5"])) == [("cuda:1", "5")]
    with pytest.raises(ConfigError, match=r"cuda:2 but this machine has 2 visible GPUs"):
        seats("generation", "cuda:0,cuda:2", "each", ["0", "1"])


def test_a_count_is_that_many_cpu_workers_sharing_the_cores():
    got = seats("generation", "3", "each", ["0"], cores=12)
    assert [s.device for s in got] == ["cpu:0", "cpu:1", "cpu:2"]
    assert all(s.threads == 4 and local_device(s.device) == "cpu" and dict(s.env) == {"CUDA_VISIBLE_DEVICES": ""}
               for s in got)
    assert seats("generation", "4", "each", [], cores=2)[0].threads == 1  # never 0 threads
    assert local_device("cuda:3") == "cuda:0" and local_device("cpu:1") == "cpu"


@pytest.mark.parametrize(("value", "legacy", "stored"), [
    ("auto", "auto", "auto"), ("AUTO", "auto", "auto"), (3, "auto", "3"), ("2", "auto", "2"), (["cpu"], "auto", "cpu"),
    ("auto", "cpu", "cpu"),  # the older device key alone still places its one worker
    (["cpu"], "cpu", "cpu"),
])
def test_the_devices_setting_in_all_its_forms(value, legacy, stored):
    assert check_devices(value, legacy, "x.devices") == stored


@pytest.mark.parametrize(("value", "legacy", "message"), [
    (0, "auto", "count of CPU workers from 1"), (True, "auto", "True"), (["cpu", "cpu"], "auto", "lists cpu twice"),
    ([], "auto", "list devices as strings"), (["auto"], "auto", "lists 'auto'"), ({"a": 1}, "auto", "use \"auto\""),
    (2, "cpu", "disagree"), (["tpu"], "auto", "tpu"),
])
def test_bad_devices_settings_are_refused_naming_the_key(value, legacy, message):
    with pytest.raises(SynthdivError) as info:
        check_devices(value, legacy, "run.toml: generation.devices")
    assert "generation.devices" in info.value.message and message in info.value.message


def test_devices_round_trip_through_the_config_and_plan_the_workers(tmp_path):
    data = default_experiment()
    data["generation"] = {**data.get("generation", {}), "devices": 3}
    data["embedding"] = {**data.get("embedding", {}), "devices": ["cpu"]}
    cfg = parse_config(data, "t", tmp_path)
    assert (cfg.generation.devices, cfg.embedding.devices) == ("3", "cpu")
    table = to_table(cfg)
    assert table["generation"]["devices"] == 3 and table["embedding"]["devices"] == ["cpu"]
    assert parse_config(table, "t", tmp_path) == cfg
    placed = plan(cfg, gpus=[], cores=6)
    assert [(s.kind, s.device, s.threads) for s in placed] == [
        ("generation", "cpu:0", 2), ("generation", "cpu:1", 2), ("generation", "cpu:2", 2), ("embedding", "cpu", 0),
        ("training", "cpu", 0)]
    # an experiment recorded before devices existed, with the older device key
    old = dataclasses.replace(cfg, generation=dataclasses.replace(cfg.generation, devices="auto", device="cpu"))
    assert [s.device for s in plan(old, gpus=["0", "1"]) if s.kind == "generation"] == ["cpu"]
