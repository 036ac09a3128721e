"""The workbench's screens, driven by keys through Textual's Pilot: setup, dashboard live panels,
gallery, prompt iteration, export, pause/cancel, help and the command palette."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import threading
import time

from rich.console import Console
from textual.worker import WorkerState

from store import jobs, open_store
from tests.functional.stores import CLASSES, build
from workbench import control
from workbench.app import StoreView, WorkbenchApp
from workbench.defaults import default_experiment


def text_of(app) -> str:
    """Every Static and DataTable cell on the screen as plain text."""
    out = io.StringIO()
    console = Console(file=out, width=120, color_system=None)
    for widget in app.screen.query("Static"):
        console.print(widget.content)
    for table in app.screen.query("DataTable"):
        for i in range(table.row_count):
            console.print(" | ".join(str(c) for c in table.get_row_at(i)), markup=False)
    from screens.charts import Chart

    for chart in app.screen.query(Chart):  # a plot, as drawn at its size
        if chart.display and chart.size.height:
            console.print(chart.render())
    return out.getvalue()


async def until(pilot, check, tries: int = 100, step: float = 0.05) -> bool:
    """Wait (polling, not sleeping a fixed time) until ``check()`` holds."""
    for _ in range(tries):
        if check():
            return True
        await pilot.pause(step)
    return check()


# --- setup ---------------------------------------------------------------------------------------

async def test_setup_by_keys_builds_a_config_that_checks_and_starts(tmp_path, monkeypatch):
    launched = []
    monkeypatch.setattr(control, "launch", lambda data, store: launched.append((data, store)) or (_ for _ in ()).throw(
        control.SynthdivError("stopped by the test", "nothing")))
    app = WorkbenchApp(setup=default_experiment(), setup_store=str(tmp_path / "runs" / "digits"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "SetupScreen"
        assert "10 of 10 selected" in text_of(app)
        await pilot.press("ctrl+x")  # clear the selection
        await pilot.press(*"ei")  # search: eight
        await pilot.pause()
        assert "1 shown" in text_of(app)
        await pilot.press("enter", "space")  # to the list, toggle "eight"
        search = app.screen.query_one("#class-search")
        search.value = "n"  # one, seven, nine
        await pilot.pause()
        await pilot.press("ctrl+a")  # select every shown class
        await pilot.pause()
        assert "4 of 10 selected" in text_of(app), [x for x in text_of(app).splitlines() if "selected" in x]

        await pilot.press("f3", "tab")  # the template box
        await pilot.press(*"a {x} digit")
        await pilot.pause()
        assert "✗ template 'a {x} digit' has '{x}'" in text_of(app)
        app.screen.query_one("#template-input").value = ""
        await pilot.press(*"a bold {}")
        await pilot.pause()
        assert "→ a bold one" in text_of(app)  # preview with the chosen classes, in class order
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.templates[-1] == "a bold {}"
        await pilot.press("shift+tab")  # the template list
        lst = app.screen.query_one("#template-list")
        lst.highlighted = 3  # "{}"
        await pilot.press("d")
        await pilot.pause()
        assert "{}" not in app.screen.templates and len(app.screen.templates) == 5

        await pilot.press("f4")
        field = app.screen.query_one("#set-generation-images_per_prompt")
        field.value = "2"
        steps = app.screen.query_one("#set-generation-steps")
        steps.value = "many"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "steps is 'many'" in text_of(app) and not launched
        steps.value = "10"
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: launched)
        assert await until(pilot, lambda: "stopped by the test" in text_of(app))
    data, store = launched[0]
    assert store == str(tmp_path / "runs" / "digits")
    assert data["classes"] == {"set": "digits", "names": ["one", "seven", "eight", "nine"]}
    assert data["templates"]["custom"][-1] == "a bold {}" and "{}" not in data["templates"]["custom"]
    assert data["generation"]["images_per_prompt"] == 2 and data["generation"]["steps"] == 10
    cfg = control.check(data)  # the same rules as a config file
    assert [c[0] for c in cfg.classes] == ["one", "seven", "eight", "nine"] and cfg.real == "digits"
    assert cfg.train.runs == ("synthetic", "real", "mix-1x")  # the default's pixel classifiers, carried


async def test_setup_refuses_an_empty_choice_with_the_fix(tmp_path):
    app = WorkbenchApp(setup=default_experiment(), setup_store=str(tmp_path / "s"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+x", "ctrl+s")
        await pilot.pause()
        assert "no class is chosen: select some on the Classes tab" in text_of(app)
    assert not (tmp_path / "s").exists()


async def test_setup_loads_imagenet_and_searches_it(tmp_path):
    app = WorkbenchApp(setup={"name": "x", "classes": {"set": "digits"}}, setup_store=str(tmp_path / "s"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        box = app.screen.query_one("#class-set")
        box.value = "imagenet"
        box.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert "0 of 1000 selected · 1000 shown" in text_of(app)
        app.screen.query_one("#class-search").value = "retriever"
        await pilot.pause()
        assert "0 of 1000 selected · 5 shown" in text_of(app)


async def test_launch_writes_the_config_and_opens_the_dashboard(tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(control, "start_needed", lambda st, root, exp: started.append(exp["name"]) or ["generation"])
    data = {"name": "tiny", "classes": {"set": "imagenet", "names": ["goldfish"]},
            "templates": {"custom": ["a photo of a {}."]},
            "generation": {"model": "tiny-random", "width": 32, "height": 32, "images_per_prompt": 2},
            "embedding": {"model": "tiny-random"}}
    app = WorkbenchApp(setup=data, setup_store=str(tmp_path / "runs" / "tiny"), refresh_s=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: type(app.screen).__name__ == "DashboardScreen", tries=200)
        assert await until(pilot, lambda: "0/2" in text_of(app))
    assert started == ["tiny"]
    written = (tmp_path / "runs" / "tiny" / control.CONFIG_FILE).read_text()
    from workbench.config import load_config

    assert load_config(tmp_path / "runs" / "tiny" / control.CONFIG_FILE).classes == (("goldfish", "goldfish"),)
    assert "synthdiv run THIS_FILE" in written


def documented_keys() -> dict[str, set[str]]:
    """Every key of docs/config.md, by section ("" for the top level)."""
    from pathlib import Path

    keys: dict[str, set[str]] = {}
    section = None
    for line in (Path(__file__).resolve().parents[2] / "docs" / "config.md").read_text().splitlines():
        if line.startswith("## "):
            found = re.search(r"`\[(\w+)\]`", line)
            section = found.group(1) if found else ("" if line.strip() == "## Top level" else None)
        elif section is not None and line.startswith("| `"):
            keys.setdefault(section, set()).update(re.findall(r"`(\w+)`", line.split("|")[1]))
    return keys


async def test_every_documented_key_round_trips_through_the_setup_screen(tmp_path, monkeypatch):
    """A stored experiment opened in the setup screen (n on the dashboard) and started again must
    carry every key of docs/config.md unchanged (real.mapping and real.test_fraction were dropped)."""
    from PIL import Image

    from workbench.config import parse_config, to_table

    for folder in ("n-one", "n-zero"):
        (tmp_path / "real" / folder).mkdir(parents=True)
        for i in range(4):
            Image.new("L", (8, 8), 40 * i).save(tmp_path / "real" / folder / f"{i}.png")
    (tmp_path / "map.csv").write_text("n-one,one\nn-zero,zero\n")
    table = {
        "name": "round", "store": str(tmp_path / "S"),
        "classes": {"set": "digits", "names": ["one", "zero"], "overrides": {"one": {"guidance": 3.0}}},
        "templates": {"builtin": True, "custom": ["a {} drawn"]},
        "repair": {"of": "", "keep": [], "remedies": {"sketch": {"templates": ["a sketch of a {}"]}}},
        "generation": {"model": "mini-digits", "revision": "", "base_config": "", "scheduler": "ddim", "steps": 3, "guidance": 2.5,
                       "width": 16, "height": 16, "negative_prompt": "blurry", "images_per_prompt": 2, "seed": 7,
                       "seeds": "shared", "batch_size": 2, "device": "auto", "devices": 2, "compile": True,
                       "dtype": "float32"},
        "embedding": {"model": "mini-digits", "pretrained": "", "batch_size": 8, "device": "cpu", "devices": ["cpu"],
                      "dtype": "bfloat16", "image_models": []},
        "real": {"source": str(tmp_path / "real"), "mapping": str(tmp_path / "map.csv"), "test_fraction": 0.25,
                 "split": "", "label_column": ""},
        "train": {"runs": ["synthetic", "real", "mix-1x"], "model": "resnet18", "weights": str(tmp_path / "w.safetensors"),
                  "epochs": 3, "batch_size": 16, "lr": 0.01, "optimizer": "sgd", "weight_decay": 0.0001,
                  "image_size": 32, "crop_scale": 0.5, "flip": False, "real_per_class": 1, "seed": 4,
                  "compile": True, "device": "cpu", "devices": ["cpu"]},
        "cluster": {"engine": "ray", "address": "10.0.0.1:6379", "actors": 3, "in_flight": 4,
                    "shared_dir": str(tmp_path / "shared")},
    }
    from safetensors.torch import save_file
    import torch

    save_file({"x": torch.zeros(1)}, str(tmp_path / "w.safetensors"))
    documented = documented_keys()
    for section, keys in documented.items():
        assert keys <= set(table if section == "" else table[section]), (section, keys)
    cfg = parse_config(table, "test", tmp_path)
    back = to_table(cfg)
    for section, keys in documented.items():
        assert keys <= set(back if section == "" else back[section]), f"to_table drops {section} keys"

    launched = []
    monkeypatch.setattr(control, "launch", lambda data, store: launched.append((data, store)) or (_ for _ in ()).throw(
        control.SynthdivError("stopped by the test", "nothing")))
    e = build(tmp_path / "D", done=0, analysed=False)
    with open_store(tmp_path / "D") as st:
        st.db.execute("update experiments set config = ? where id = ?", [json.dumps(cfg.stored()), e])
    app = WorkbenchApp(tmp_path / "D", refresh_s=60)
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        app.action_setup()
        assert await until(pilot, lambda: type(app.screen).__name__ == "SetupScreen")
        await pilot.press("ctrl+s")
        assert await until(pilot, lambda: launched)
    data, store = launched[0]
    assert parse_config(data, "again", tmp_path) == dataclasses.replace(cfg, store="")


# --- dashboard -----------------------------------------------------------------------------------

async def test_dashboard_lists_a_cluster_runs_actors_like_local_workers(tmp_path):
    """A cluster run: the process here feeding the actors, and each actor with its node, GPU, pid
    there, images per second and images made; a lost actor says why."""
    from store import workers

    e = build(tmp_path, done=20)
    with open_store(tmp_path) as st:
        head = workers.register(st, e, "generation", "ray")
        for i, node in enumerate(("node1", "node2")):
            part = workers.register_part(st, head, f"ray:{node}/gpu{i}", node, 3300 + i)
            st.db.execute("update workers set started_at = started_at - 10 where id = ?", [part])
            workers.heartbeat(st, part, 19 + i)
        gone = workers.register_part(st, head, "ray:node3/gpu0", "node3", 4100)
        workers.stop(st, gone, "lost", "the actor was lost (ActorDiedError: node3 went away)", processed=4)
    app = WorkbenchApp(tmp_path, refresh_s=60)
    async with app.run_test(size=(140, 40)) as pilot:
        assert await until(pilot, lambda: "ray:node2/gpu1" in text_of(app))
        lines = {line.split()[1]: line for line in text_of(app).splitlines()
                 if line.strip().startswith("generation ")}
        assert lines["ray:node1/gpu0"].split()[2:4] == ["3300", "running"] and " 19 " in lines["ray:node1/gpu0"] + " "
        assert 1.5 < float(lines["ray:node1/gpu0"].split()[4]) <= 1.9  # images per second: 19 in about 10 s
        assert "lost" in lines["ray:node3/gpu0"] and "node3 went away" in lines["ray:node3/gpu0"]
        assert "ray" in lines


async def test_dashboard_shows_per_class_progress_and_the_metric_history(tmp_path):
    e = build(tmp_path, done=20)
    with open_store(tmp_path) as st:  # a second analysis, later: the sparkline has two points
        from tests.functional.stores import MODEL  # noqa: F401
        from workbench.analysis import compute

        st.db.execute("delete from embeddings where kind = 'image' and item_id > 10")
        compute(st, e, MODEL)
    app = WorkbenchApp(tmp_path, refresh_s=60)
    async with app.run_test(size=(100, 40)) as pilot:
        assert await until(pilot, lambda: "diversity ratio against images analysed" in text_of(app))
        text = text_of(app)
        assert "goldfish | 8 | 8 | 100%" in text and "golden retriever | 4 | 8 | 50%" in text
        chart = app.screen.query_one("#history")
        assert [p[0] for p in chart.drawn["points"]] == [10, 20]  # one point per analysis, by images analysed
        assert "synthetic images analysed" in text and "diversity ratio (÷)" in text  # the axes, named
        await pilot.press("2")  # the four causes, and one cause per class as bars
        assert await until(pilot, lambda: "gap: real→real − synthetic→real accuracy" in text_of(app))
        bars = app.screen.query_one("#cause-bars")
        assert bars.drawn["shown"] == [r["class"] for r in app.screen.analysis["result"]["four_causes"]]
        await pilot.press("b")
        assert await until(pilot, lambda: "concept: synthetic→real accuracy" in text_of(app))
        await pilot.press("b")
        assert await until(pilot, lambda: "adherence: share of synthetic images read as the class" in text_of(app))
        await pilot.press("3")
        assert app.screen.query_one("#tabs").active == "tab-diversity"
        assert app.screen.cursor_class() == "goldfish"


async def test_the_share_column_widens_when_a_class_reaches_100_percent(tmp_path):
    """At 100–110 columns the "%" column was sized for "0%" and cut "100%" to "10" as classes finished."""
    from tests.functional.stores import COLOURS, png

    e = build(tmp_path, done=0, analysed=False)
    app = WorkbenchApp(tmp_path, refresh_s=60)
    async with app.run_test(size=(105, 40)) as pilot:
        assert await until(pilot, lambda: "goldfish | 0 | 8 | 0%" in text_of(app))
        with open_store(tmp_path) as st:  # every job of every class finishes
            from store import workers

            wid = workers.register(st, e, "generation")
            for job in jobs.claim(st, e, wid, 24):
                png(tmp_path / f"images/{job['id']:03d}.png", COLOURS[job["class_name"]], job["id"])
                jobs.finish(st, job["id"], {
                    "experiment_id": e, "class_id": job["class_id"], "template_id": job["template_id"],
                    "prompt_id": job["prompt_id"], "class_name": job["class_name"], "template": job["template"],
                    "prompt": job["prompt"], "seed": job["seed"], "path": f"images/{job['id']:03d}.png",
                    "sha256": "x", "width": 16, "height": 16, "model_id": "tiny-random", "steps": 4, "guidance": 5.0})
        app.action_reload()
        assert await until(pilot, lambda: "goldfish | 8 | 8 | 100%" in text_of(app))
        await pilot.pause()
        shown = app.export_screenshot().replace("&#160;", " ")
        assert shown.count("100%") == 3, "the % column cuts 100% short"


async def test_pause_and_cancel(tmp_path, monkeypatch):
    e = build(tmp_path, done=10, analysed=False)
    asked = []
    monkeypatch.setattr(control, "stop_workers", lambda st: asked.append(1) or 0)
    app = WorkbenchApp(tmp_path, refresh_s=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("p")
        await pilot.pause()
        assert asked == [1]
        await pilot.press("c")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"
        await pilot.press("n")
        await pilot.pause()
        with open_store(tmp_path) as st:
            assert jobs.counts(st, e)["pending"] == 14
        await pilot.press("c", "y")
        await pilot.pause()
    with open_store(tmp_path) as st:
        c = jobs.counts(st, e)
        assert c["pending"] == 0 and c["done"] == 10
        assert st.conn.execute("select count(*) from images").fetchone()[0] == 10


# --- gallery -------------------------------------------------------------------------------------

async def test_gallery_pages_filters_and_shows_nearest_real_images(tmp_path):
    build(tmp_path, done=24)
    app = WorkbenchApp(tmp_path, refresh_s=60)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await until(pilot, lambda: "golden retriever | 8 | 8" in text_of(app))  # the cursor has a class
        await pilot.press("v")
        assert await until(pilot, lambda: "nearest real" in text_of(app))
        text = text_of(app)
        # it opens on the class under the dashboard's cursor; 4 thumbnails a page at 80×24
        assert "class goldfish (c) · template all (t) · image 1/8 · page 1/2" in text
        assert "a photo of a goldfish. · seed 0" in text and "tiny-random" in text
        assert len(re.findall(r"goldfish 0\.9\d|goldfish 1\.00", text)) == 3  # its neighbours: real goldfish
        await pilot.press("right")
        assert await until(pilot, lambda: "image 2/8 · page 1/2" in text_of(app))
        await pilot.press("pagedown")
        assert await until(pilot, lambda: "image 6/8 · page 2/2" in text_of(app))
        await pilot.press("c")
        assert await until(pilot, lambda: "class tabby cat (c) · template all (t) · image 1/8" in text_of(app))
        assert await until(pilot, lambda: "a photo of a tabby cat." in text_of(app)
                           and len(re.findall(r"tabby cat 0\.9\d|tabby cat 1\.00", text_of(app))) == 3)
        await pilot.press("C", "C")  # back past goldfish to all classes
        assert await until(pilot, lambda: "class all (c) · template all (t) · image 1/24 · page 1/6" in text_of(app))
        await pilot.press("t")
        assert await until(pilot, lambda: "template a photo of a {}. (t) · image 1/12" in text_of(app))
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "DashboardScreen"



async def test_one_image_view_class_grid_and_the_picture_switch(tmp_path, monkeypatch):
    build(tmp_path, done=24)
    app = WorkbenchApp(tmp_path, refresh_s=60)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await until(pilot, lambda: "golden retriever | 8 | 8" in text_of(app))
        await pilot.press("v")
        assert await until(pilot, lambda: "image 1/8" in text_of(app))
        await pilot.press("right", "enter")  # the second goldfish, large, beside its nearest real images
        assert await until(pilot, lambda: type(app.screen).__name__ == "ImageScreen"
                           and len(re.findall(r"goldfish 0\.9\d|goldfish 1\.00", text_of(app))) == 3)
        text = text_of(app)
        assert "image 2/8" in text and "a photo of a goldfish. · seed 1" in text and "synthetic · goldfish" in text
        from screens.pictures import Picture

        pictures = list(app.screen.query(Picture))
        assert len(pictures) == 4 and len({(p.size.width, p.size.height) for p in pictures}) == 1  # one size
        assert pictures[0].size.width > 16  # larger than a thumbnail
        await pilot.press("right")
        assert await until(pilot, lambda: "image 3/8" in text_of(app) and "· seed 2" in text_of(app))
        await pilot.press("g")  # the class across its templates
        assert await until(pilot, lambda: "t2 · a drawing of a {}. · 4 of 4 images" in text_of(app))
        assert "class goldfish across its templates" in text_of(app)
        assert len(app.screen.query(Picture)) == 8  # 2 templates × 4 images
        sent = []
        monkeypatch.setattr("textual_image.renderable.tgp._send_tgp_message", lambda **kw: sent.append(kw))
        await pilot.press("m")  # half cells → Kitty graphics, everywhere
        await pilot.pause(0.3)
        assert app.pictures == "kitty" and all(p.mode == "kitty" for p in app.screen.query(Picture))
        assert any(n.title == "Pictures" and "did not say it supports" in n.message for n in app._notifications)
        assert await until(pilot, lambda: sum(1 for kw in sent if kw.get("a") == "p") == 8)  # eight placements
        await pilot.press("m", "m")  # → sixel → half cells
        await pilot.pause(0.3)
        assert app.pictures == "halfcell" and all(p.mode == "halfcell" for p in app.screen.query(Picture))
        await pilot.press("escape", "escape")
        assert await until(pilot, lambda: type(app.screen).__name__ == "GalleryScreen")


async def test_gallery_shows_provenance_at_once_while_the_nearest_real_images_are_looked_up(tmp_path, monkeypatch):
    build(tmp_path, done=24)
    released = threading.Event()
    slow_nearest = StoreView.nearest

    def nearest(self, image_id, k=3):
        released.wait(30)
        return slow_nearest(self, image_id, k)

    monkeypatch.setattr(StoreView, "nearest", nearest)
    app = WorkbenchApp(tmp_path, refresh_s=60)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            assert await until(pilot, lambda: "golden retriever | 8 | 8" in text_of(app))
            await pilot.press("v")
            assert await until(pilot, lambda: "image 1/8" in text_of(app))
            text = text_of(app)
            assert "a photo of a goldfish. · seed 0" in text and "tiny-random" in text
            assert "nearest real images: looking…" in text
            await pilot.press("right")  # the next image's provenance, not the first's
            assert await until(pilot, lambda: "image 2/8" in text_of(app) and "· seed 1" in text_of(app))
            released.set()
            assert await until(pilot, lambda: "nearest real" in text_of(app) and "looking" not in text_of(app))
            assert "· seed 1" in text_of(app)  # the first image's late lookup did not replace it
    finally:
        released.set()

# --- prompt iteration ----------------------------------------------------------------------------

async def test_iteration_queues_one_class_and_compares_templates(tmp_path, monkeypatch):
    e = build(tmp_path, done=24)
    monkeypatch.setattr(control, "start_needed", lambda st, root, exp: ["generation", "embedding"])
    app = WorkbenchApp(tmp_path, refresh_s=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("2")  # four causes: the cursor is on its first row
        assert await until(pilot, lambda: app.screen.cursor_class() is not None)
        label = app.screen.cursor_class()
        await pilot.press("i")
        assert await until(pilot, lambda: "a drawing of a {}." in text_of(app))
        text = text_of(app)
        assert "a photo of a {}. | 4 |" in text and "a drawing of a {}. | 4 |" in text
        await pilot.press(*"a sketch of a {")
        await pilot.pause()
        assert "✗" in text_of(app)
        await pilot.press("}")
        await pilot.pause()
        assert f"prompt: a sketch of a {label}" in text_of(app)
        app.screen.query_one("#batch").value = "3"
        await pilot.press("enter")
        assert await until(pilot, lambda: "a sketch of a {} ◀ new | 0" in text_of(app))
    with open_store(tmp_path) as st:
        per = {r["class"]: r for r in jobs.per_class(st, e)}
        assert per[label]["pending"] == 3 and per[label]["total"] == 11
        assert all(per[c]["total"] == 8 for c, _ in CLASSES if c != label)  # other classes untouched


# --- export, help, palette -----------------------------------------------------------------------

async def test_export_from_the_ui_writes_every_table_and_says_where(tmp_path):
    build(tmp_path, done=24)
    app = WorkbenchApp(tmp_path, refresh_s=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("e")
        assert await until(pilot, lambda: any(n.title == "Exported" for n in app._notifications), tries=200)
        note = next(n for n in app._notifications if n.title == "Exported")
    folder = next((tmp_path / "exports").iterdir())
    assert str(folder) in note.message
    names = {p.name for p in folder.iterdir()}
    assert {"four_causes.csv", "diversity.csv", "accuracy.csv", "synthdiv-report.json", "synthdiv-report.md", "synthdiv-report.tex"} <= names
    report = json.loads((folder / "synthdiv-report.json").read_text())
    assert [r["class"] for r in report["diversity"]] == [c for c, _ in CLASSES]


async def test_help_lists_the_keys_and_the_palette_runs_commands(tmp_path):
    build(tmp_path, done=24)
    app = WorkbenchApp(tmp_path, refresh_s=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        text = text_of(app)
        for key, does in (("v", "Gallery"), ("e", "Export"), ("i", "Iterate"), ("c", "Cancel"), ("q", "Quit")):
            assert f"{key} " in text and does in text
        await pilot.press("escape")
        await pilot.pause()
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert {"Export tables", "Gallery", "Iterate on a prompt", "Pause workers", "Cancel remaining work"} <= set(titles)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Gallery")
        await pilot.pause(0.5)
        await pilot.press("enter")
        assert await until(pilot, lambda: type(app.screen).__name__ == "GalleryScreen")


async def test_survives_resizing_and_a_crashed_worker(tmp_path):
    e = build(tmp_path, done=24)
    from store import workers

    with open_store(tmp_path) as st:
        wid = workers.register(st, e, "embedding")
        workers.stop(st, wid, "failed", "RuntimeError: CUDA error: device-side assert triggered")
    app = WorkbenchApp(tmp_path, refresh_s=0.2)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await until(pilot, lambda: "embedding worker failed: RuntimeError: CUDA error" in text_of(app))
        for size in ((200, 60), (60, 18), (80, 24)):
            await pilot.resize_terminal(*size)
            await pilot.pause(0.3)
        await pilot.press("v")
        assert await until(pilot, lambda: "nearest real" in text_of(app))
        await pilot.resize_terminal(160, 50)  # more thumbnails a page on a larger terminal
        assert await until(pilot, lambda: re.search(r"image 1/8 · page 1/1", text_of(app)) is not None)
        await pilot.resize_terminal(80, 24)
        assert await until(pilot, lambda: "page 1/2" in text_of(app))
        await pilot.press("escape", "3")
        assert app.screen.query_one("#tabs").active == "tab-diversity"  # the UI goes on working


def test_synthdiv_open_exits_non_zero_after_a_crash(tmp_path, monkeypatch):
    import workbench.app as app_module
    from workbench import cli

    build(tmp_path, done=2, analysed=False)

    class Crashing(WorkbenchApp):
        def on_mount(self) -> None:
            raise RuntimeError("a bug in a screen")

        def run(self, **kwargs):
            return super().run(headless=True, **kwargs)

    monkeypatch.setattr(app_module, "WorkbenchApp", Crashing)
    assert cli.main(["open", str(tmp_path)]) == 1


async def test_the_cancel_dialog_names_what_resumes_and_g_brings_the_dropped_jobs_back(tmp_path, monkeypatch):
    e = build(tmp_path, done=10, analysed=False)
    started = []
    monkeypatch.setattr(control, "start_needed", lambda st, root, exp: started.append(exp["name"]) or ["generation"])
    monkeypatch.setattr(control, "stop_workers", lambda st: 0)
    from workbench.config import from_experiment

    with open_store(tmp_path) as st:  # the settings as a run records them, so g can record the plan again
        cfg = from_experiment(st.db["experiments"].get(e))
        st.db.execute("update experiments set settings = ? where id = ?", [json.dumps(cfg.settings()), e])
    app = WorkbenchApp(tmp_path, refresh_s=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("c")
        await pilot.pause()
        said = " ".join(text_of(app).split())
        assert "Press g later" in said and "experiment.toml" not in said  # no file there to name
        await pilot.press("y")
        await pilot.pause()
        with open_store(tmp_path) as st:
            assert jobs.counts(st, e)["pending"] == 0
        await pilot.press("g")
        await pilot.pause()
    with open_store(tmp_path) as st:
        assert jobs.counts(st, e)["pending"] == 14 and started == ["tiny"]




async def test_a_store_read_that_finishes_after_its_dashboard_is_gone_is_dropped(tmp_path, monkeypatch):
    """A read of the store that finishes once its dashboard has been taken down (replaced, or the
    app shutting down: CI saw the app fail at exit with NoMatches('#experiment-panels')) must not
    touch the removed widgets; the app goes on."""
    import workbench.app as app_module
    from textual.screen import Screen

    build(tmp_path, done=4, analysed=False)
    release, reading = threading.Event(), threading.Event()
    real_summary = app_module.summary

    def slow_summary(st):
        reading.set()
        release.wait(10)
        return real_summary(st)

    app = WorkbenchApp(tmp_path, refresh_s=60)
    async with app.run_test(size=(80, 24)) as pilot:
        assert await until(pilot, lambda: "4 images" in (app.screen.sub_title or ""))
        old = app.dashboard
        monkeypatch.setattr(app_module, "summary", slow_summary)
        read = app.read_store()
        assert await until(pilot, reading.is_set)
        await app.switch_screen(Screen())  # the dashboard is removed while the read is under way
        assert await until(pilot, lambda: not old.is_attached)
        release.set()
        assert await until(pilot, lambda: read.is_finished)
        assert read.state == WorkerState.SUCCESS, read.error
        await pilot.press("question_mark")  # the app goes on
        assert await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen")


async def test_a_key_is_handled_while_a_store_write_waits_five_seconds_on_a_lock(tmp_path, monkeypatch):
    """g records the plan again (a write); while another connection holds the store's write lock
    for 5 s, the write waits in a thread and the UI goes on answering keys."""
    import sqlite3

    from workbench import supervisor

    e = build(tmp_path, done=10, analysed=False)
    from workbench.config import from_experiment

    with open_store(tmp_path) as st:  # the settings as a run records them, so g can record the plan again
        cfg = from_experiment(st.db["experiments"].get(e))
        st.db.execute("update experiments set settings = ? where id = ?", [json.dumps(cfg.settings()), e])
    started = []
    monkeypatch.setattr(supervisor, "start_supervisor", lambda root, name: started.append(name))
    app = WorkbenchApp(tmp_path, refresh_s=60)
    async with app.run_test(size=(100, 30)) as pilot:
        assert await until(pilot, lambda: "10/24" in text_of(app))
        held, release = threading.Event(), threading.Event()

        def hold_the_lock() -> None:
            c = sqlite3.connect(tmp_path / "synthdiv.db", timeout=5)
            c.execute("begin immediate")
            held.set()
            release.wait(5)
            c.rollback()
            c.close()

        holder = threading.Thread(target=hold_the_lock)
        holder.start()
        assert held.wait(5)
        t0 = time.monotonic()
        await pilot.press("g")  # its write waits on the lock
        await pilot.press("3")
        assert await until(pilot, lambda: app.screen.query_one("#tabs").active == "tab-diversity", tries=40)
        assert time.monotonic() - t0 < 2.5 and holder.is_alive() and not started  # answered while the lock is held
        release.set()
        holder.join()
        assert await until(pilot, lambda: started == ["tiny"])  # then the start went through
