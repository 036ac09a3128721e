"""The Textual app: set up an experiment, watch it live, look at its images, iterate on a prompt,
export — with the workers started, paused, resumed and cancelled from it.

Every read of the store happens in a thread worker with its own connection, on a timer, so the
screen never waits on SQLite; models never load in the UI process (workers are processes).
Workers run in a session of their own: they go on when the UI quits or the SSH link drops, and
``synthdiv open`` re-attaches to them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from screens.compare import CompareScreen
from screens.dashboard import DashboardScreen
from screens.gallery import GalleryScreen
from screens.help import HelpScreen
from screens.iterate import IterateScreen
from screens.question import ConfirmScreen, QuitScreen
from screens.setup import SetupScreen
from store import analyses, experiments, images, jobs, open_store
from store.status import summary
from synthdiv.errors import SynthdivError, describe
from workbench import control
from workbench.config import from_experiment, to_table
from workbench.priority import stalled
from screens.messages import (
    Exported,
    Launched,
    RunningCounted,
    SetupRead,
    ShowsWorkerErrors,
    StoreRead,
    StoreUnreadable,
    WorkCancelled,
    WorkersPaused,
    WorkersStarted,
)

SPARK_METRIC = "diversity_ratio"  # the summary number plotted against images analysed


def _training(st, experiment_id: int, analysis: dict | None) -> tuple[dict, dict | None]:
    """The Training tab's figures (``workbench.trained.live``) of the experiment's planned runs,
    and ``analysis`` with their numbers in it (``workbench.trained.with_pixel``; its
    ``training_key`` changes when a run does, so the dashboard redraws its tables)."""
    from store import training
    from workbench.trained import live, with_pixel

    runs = training.runs(st, experiment_id)
    if analysis is not None:
        key = [(r["id"], r["state"]) for r in runs]
        if analysis.get("training_key") != key:
            analysis = {**analysis, "result": with_pixel(analysis["result"], runs), "training_key": key}
    return live(runs, training.epochs(st, [r["id"] for r in runs])), analysis


def stalled_board(data: dict, name: str) -> list[dict]:
    """The worker board of experiment ``name`` in the store summary ``data``, each running worker
    that makes no progress while its work waits marked with why (:func:`workbench.priority.stalled`)."""
    entry = next(e for e in data["experiments"] if e["name"] == name)
    stalled(entry)
    return entry["workers"]


RATE_WINDOW_S = 60.0


class StoreView:
    """What the screens may ask of one store (read in the caller's thread, own connection)."""

    def __init__(self, root: Path, experiment: str | None) -> None:
        self.root, self.experiment = root, experiment
        self._neighbours = None  # workbench.gallery.Neighbours, made on the first look

    def _exp(self, st) -> dict:
        return control.experiment(st, self.experiment)

    def model(self, st, exp: dict) -> str:
        from workbench.results import embedding_model

        return embedding_model(from_experiment(exp), st, exp["id"])

    # gallery
    def choices(self) -> tuple[list[dict], list[dict]]:
        from workbench.gallery import choices

        with open_store(self.root) as st:
            return choices(st, self._exp(st)["id"])

    def page(self, class_id: int | None, template_id: int | None, offset: int, limit: int) -> tuple[int, list[dict]]:
        from workbench.gallery import Filter, page

        with open_store(self.root) as st:
            return page(st, self._exp(st)["id"], Filter(class_id, template_id), offset, limit)

    def nearest(self, image_id: int, k: int = 3) -> list[dict]:
        from workbench.gallery import Neighbours

        with open_store(self.root) as st:
            exp = self._exp(st)
            if self._neighbours is None:
                self._neighbours = Neighbours(self.model(st, exp))
            return self._neighbours.nearest(st, exp["id"], image_id, k)

    def path(self, relative: str) -> Path:
        p = Path(relative)
        return p if p.is_absolute() else self.root / p

    # prompt iteration
    def template_rows(self, class_label: str) -> list[dict]:
        from workbench.iterate import template_rows

        with open_store(self.root) as st:
            exp = self._exp(st)
            return template_rows(st, exp["id"], self.model(st, exp), class_label)

    def try_template(self, class_label: str, template: str, n: int) -> tuple[int, list[str]]:
        """Queue ``n`` images of the class from the template and start the workers it needs."""
        from workbench.iterate import add_template

        with open_store(self.root) as st:
            exp = self._exp(st)
            added = add_template(st, exp["id"], from_experiment(exp), class_label, template, n)
            return added, control.start_needed(st, self.root, exp)  # not the whole plan again: just these jobs

    # comparison
    def comparison(self, baseline: str | None) -> dict:
        """The store's experiments compared (workbench.compare), against ``baseline`` (default:
        the open experiment)."""
        from workbench.compare import comparison_of

        with open_store(self.root) as st:
            return comparison_of(st, baseline=baseline or self._exp(st)["name"])

    # repair
    def repair_state(self) -> dict:
        """What the Repair screen shows (:func:`workbench.repair.state`)."""
        from workbench import repair

        with open_store(self.root) as st:
            return repair.state(st, self.root, self._exp(st)["name"])

    def start_repair(self) -> str:
        from workbench import repair

        with open_store(self.root) as st:
            name = repair.repaired(st, self._exp(st)["name"])[0]["name"]
        pid = repair.start(self.root, name)
        return f"repair of {name} started (process {pid}; its output: logs/repair.log)"

    def pause_repair(self) -> str:
        from workbench import repair

        return ("asked the repair to stop: its workers finish their batch; g resumes it" if repair.pause(self.root)
                else "no repair is running")

    def recipe_text(self) -> tuple[str, str]:
        from workbench.repair import RECIPE, REPAIR_DIR

        path = self.root / REPAIR_DIR / RECIPE
        if not path.is_file():
            raise SynthdivError("no recipe yet", "a repair writes it when it has measured every remedy")
        return str(path), path.read_text(encoding="utf-8")

    def before_after(self, label: str, remedy: str, n: int) -> tuple[list[dict], list[dict]]:
        """Up to ``n`` images of class ``label`` from the base experiment and from remedy ``remedy``'s
        experiment, paired by template and seed where both have them."""
        from workbench import repair

        with open_store(self.root) as st:
            return repair.before_after(st, repair.repaired(st, self._exp(st)["name"])[0]["name"], label, remedy, n)

    def class_jobs(self, class_label: str) -> dict:
        with open_store(self.root) as st:
            exp = self._exp(st)
            return next((r for r in jobs.per_class(st, exp["id"]) if r["class"] == class_label), {})


class ExportError(SynthdivError):
    title = "Export"


class WorkbenchApp(ShowsWorkerErrors, App):
    """``synthdiv``: the workbench. With a store it opens on the dashboard (re-attaching to running
    workers); with ``setup`` (a config table) it opens on the setup screen."""

    TITLE = "synthdiv"
    BINDINGS = [
        Binding("question_mark,f1", "help", "Help", id="app.help"),
    ]

    def __init__(self, store_root: str | Path | None = None, refresh_s: float = 1.0, experiment: str | None = None,
                 setup: dict[str, Any] | None = None, setup_store: str = "", pictures: str = "halfcell",
                 pictures_found: str | None = None) -> None:
        """``pictures``: how images are drawn (:mod:`screens.pictures`; ``synthdiv open --images``
        asks the terminal before the app starts); ``pictures_found``: what the terminal said it
        supports (a switch to another protocol is warned about), default ``pictures``."""
        super().__init__()
        self.pictures = pictures
        self.pictures_found = pictures_found or pictures
        self.store_root = Path(store_root) if store_root else None
        self.refresh_s = refresh_s
        self.experiment = experiment
        self.setup_data = setup
        self.setup_store = setup_store
        self.dashboard: DashboardScreen | None = None
        self.view: StoreView | None = None
        self._timer = None

    def notify(self, message: str, *, title: str = "", severity="information", timeout: float | None = None,
               markup: bool = False) -> None:
        """A notification, from the app or any screen (``Widget.notify`` comes here): its message
        and title are always text, never markup — they quote names, templates, paths and errors
        that hold the user's input."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def on_mount(self) -> None:
        if self.store_root is not None:
            self._open_dashboard()
        else:
            self.push_screen(SetupScreen(self.setup_data or {}, self.setup_store))

    def _open_dashboard(self) -> None:
        assert self.store_root is not None
        self.view = StoreView(self.store_root, self.experiment)
        self.dashboard = DashboardScreen(self.store_root)
        if isinstance(self.screen, (SetupScreen, DashboardScreen)):
            self.switch_screen(self.dashboard)
        else:
            self.push_screen(self.dashboard)  # its on_mount reads the store the first time
        if self._timer is None:
            self._timer = self.set_interval(self.refresh_s, self.action_reload)

    # --- reading the store (off the UI thread) ---------------------------------------------------

    def action_reload(self) -> None:
        if self.dashboard is not None:
            self.read_store()

    @work(thread=True, exclusive=True, group="read-store", exit_on_error=False)
    def read_store(self) -> None:
        dashboard = self.dashboard
        try:
            with open_store(self.store_root) as st:
                data = summary(st)
                names = [e["name"] for e in data["experiments"]]
                analysis = dashboard.analysis  # parsed once; re-read only when a newer one exists
                live: dict[str, Any] = {}
                if names:
                    exp = experiments.get(st, self.experiment or names[0])
                    newest = analyses.latest_id(st, exp["id"])
                    if newest is not None and (analysis is None or analysis["id"] != newest):
                        analysis = analyses.latest(st, exp["id"])
                    trained, analysis = _training(st, exp["id"], analysis)
                    live = {
                        "experiment": exp["name"],
                        "per_class": jobs.per_class(st, exp["id"]),
                        "rate": images.rate(st, exp["id"], RATE_WINDOW_S),
                        "workers": stalled_board(data, exp["name"]),
                        "metric": SPARK_METRIC,
                        "history": (analyses.history(st, exp["id"], SPARK_METRIC) if analysis is not None
                                    and analysis["id"] != dashboard.history_id else None),
                        "training": trained,
                    }
        except Exception as exc:  # noqa: BLE001 - the timed read says it on the dashboard and tries again
            dashboard.post_message(StoreUnreadable(describe(exc)))
            return
        dashboard.post_message(StoreRead(data, analysis, live))

    # --- setup -----------------------------------------------------------------------------------

    @on(SetupScreen.Start)
    def _start_requested(self, message: SetupScreen.Start) -> None:
        self.launch(message.data, message.store)

    @work(thread=True, exclusive=True, group="launch", exit_on_error=False)
    def launch(self, data: dict[str, Any], store: str) -> None:
        """Record the experiment set up on the setup screen and start its workers (a bad config
        is shown on the setup screen, which stays)."""
        from workbench.plan import long_prompt_notes

        root, cfg, prepared, started = control.launch(data, store)
        self.post_message(Launched(root, cfg.name, prepared.jobs, prepared.added, started,
                                   cfg.notes() + long_prompt_notes(cfg)))

    def on_launched(self, message: Launched) -> None:
        for note in message.notes:
            self.notify(note, title="Note", severity="warning", timeout=20)
        root = message.root
        self.store_root, self.experiment = root, message.name
        self.notify(f"{message.name}: {message.planned} images planned, {message.added} new; started "
                    f"{', '.join(message.started) or 'no worker (nothing left to do)'}. Config: {root / control.CONFIG_FILE}",
                    title="Experiment started")
        if self.dashboard is not None:
            self.pop_screen()  # the setup screen opened from the dashboard
            if self.dashboard.store_root == root:
                self.view.experiment = message.name
                self.dashboard.analysis = self.dashboard.history_id = None  # maybe another experiment
                self.action_reload()
                return
        self._open_dashboard()

    def action_setup(self) -> None:
        """Edit the open experiment: add classes or templates (settings that shape images are fixed)."""
        if self.store_root is not None:
            self.read_setup()

    @work(thread=True, exclusive=True, group="store-action", exit_on_error=False)
    def read_setup(self) -> None:
        with open_store(self.store_root) as st:
            exp = control.experiment(st, self.experiment)
        data = to_table(from_experiment(exp))
        data.pop("store", None)  # the store is the open one
        self.post_message(SetupRead(data))

    def on_setup_read(self, message: SetupRead) -> None:
        self.push_screen(SetupScreen(message.data, str(self.store_root), can_leave=True))

    # --- workers (each store action in a thread: the UI never waits on SQLite) -------------------

    def action_start_workers(self) -> None:
        self.start_workers()

    @work(thread=True, group="store-action", exit_on_error=False)  # each runs to its end, none cancels another
    def start_workers(self) -> None:
        with open_store(self.store_root) as st:
            started = control.start_workers(st, self.store_root, control.experiment(st, self.experiment)["name"])
        self.post_message(WorkersStarted(started))

    def on_workers_started(self, message: WorkersStarted) -> None:
        self.notify(f"started: {', '.join(message.kinds)}, placed by the experiment's supervisor" if message.kinds
                    else "nothing to start: workers are running or done", title="Workers")
        self.action_reload()

    def action_stop_workers(self) -> None:
        self.stop_workers()

    @work(thread=True, group="store-action", exit_on_error=False)  # each runs to its end, none cancels another
    def stop_workers(self, then_quit: bool = False) -> None:
        with open_store(self.store_root) as st:
            self.post_message(WorkersPaused(control.stop_workers(st), then_quit))

    def on_workers_paused(self, message: WorkersPaused) -> None:
        if message.then_quit:
            self.exit()
            return
        self.notify(f"paused: asked {message.asked} process(es) to stop; g resumes" if message.asked
                    else "no worker is running", title="Workers")

    def action_cancel_jobs(self) -> None:
        def chosen(yes: bool | None) -> None:
            if yes:
                self.cancel_jobs()

        self.push_screen(ConfirmScreen(
            "Cancel the experiment's remaining work?\n\nRunning workers stop and pending images are dropped"
            " from the queue. Finished images and their embeddings are kept. Press g later to queue the"
            " dropped images again and resume" + self._run_again()), chosen)

    @work(thread=True, group="store-action", exit_on_error=False)  # each runs to its end, none cancels another
    def cancel_jobs(self) -> None:
        with open_store(self.store_root) as st:
            self.post_message(WorkCancelled(*control.cancel(st, control.experiment(st, self.experiment))))

    def on_work_cancelled(self, message: WorkCancelled) -> None:
        self.notify(f"stopped {message.stopped} process(es), dropped {message.dropped} pending jobs;"
                    " finished images are kept", title="Cancelled")
        self.action_reload()

    def _run_again(self) -> str:
        """How to resume from a shell, when the store holds the experiment's file."""
        path = Path(self.store_root) / control.CONFIG_FILE
        return f" (from a shell: synthdiv run {path})." if path.is_file() else "."

    def action_request_quit(self) -> None:
        if self.store_root is None:
            self.exit()
            return
        self.count_running()

    @work(thread=True, exclusive=True, group="quit", exit_on_error=False)
    def count_running(self) -> None:
        with open_store(self.store_root) as st:
            self.post_message(RunningCounted(len(control.live_workers(st))))

    def on_running_counted(self, message: RunningCounted) -> None:
        if not message.running:
            self.exit()
            return

        def chosen(choice: str | None) -> None:
            if choice == "stop":
                self.stop_workers(then_quit=True)
            elif choice == "leave":
                self.exit()

        self.push_screen(QuitScreen(message.running), chosen)

    # --- export, gallery, iteration, help -------------------------------------------------------

    def action_export(self) -> None:
        if self.store_root is not None:
            self.notify("exporting every table …", title="Export", timeout=2)
            self.export()

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def export(self) -> None:
        from workbench.export import FORMATS, export
        from workbench.results import NoResultsYet, results_of

        out = self.store_root.resolve() / "exports" / time.strftime("%Y%m%d-%H%M%S")
        with open_store(self.store_root) as st:
            try:
                res = results_of(st, control.experiment(st, self.experiment)["name"])
            except NoResultsYet:
                raise ExportError("there is nothing to export yet",
                                  "wait until some images and prompts are embedded") from None
            files = export(res, list(FORMATS), out)
        self.post_message(Exported(len(files), out))

    def on_exported(self, message: Exported) -> None:
        self.notify(f"{message.files} files (csv, md, tex, json) in {message.folder}", title="Exported", timeout=10)

    def action_cycle_pictures(self) -> None:
        """Draw pictures the next way (half-cell blocks, Kitty graphics, Sixel graphics), everywhere."""
        from screens.image_view import redraw
        from screens.pictures import DRAWN, WORDS

        self.pictures = DRAWN[(DRAWN.index(self.pictures) + 1) % len(DRAWN)]
        warn = self.pictures not in ("halfcell", self.pictures_found)
        self.notify(f"pictures: {WORDS[self.pictures]}" + (
            " (the terminal did not say it supports them; m switches again)" if warn else " (m switches)"),
            title="Pictures", severity="warning" if warn else "information", timeout=4)
        redraw(self.screen, self.pictures)

    def action_gallery(self) -> None:
        if self.view is not None:
            self.push_screen(GalleryScreen(self.view, self._cursor_class()))

    def action_compare(self) -> None:
        if self.view is not None and not isinstance(self.screen, CompareScreen):
            self.push_screen(CompareScreen(self.view))

    def action_repair(self) -> None:
        from screens.repair import RepairScreen

        if self.view is not None and not isinstance(self.screen, RepairScreen):
            self.push_screen(RepairScreen(self.view))

    def action_iterate(self) -> None:
        if self.view is None:
            return
        label = self._cursor_class()
        if label is None:
            self.notify("put the cursor on a class in a table first (Progress, Four causes, Diversity, Accuracy)",
                        title="Prompt iteration", severity="warning")
            return
        self.push_screen(IterateScreen(self.view, label))

    def _cursor_class(self) -> str | None:
        return self.dashboard.cursor_class() if self.dashboard is not None else None

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        keys, seen = [], set()
        for node, binding, enabled, tooltip in self.active_bindings.values():
            shown = binding.show or isinstance(node, (Screen, App))  # a screen's hidden keys too (tabs, m, n)
            if binding.description and shown and binding.action not in seen:
                seen.add(binding.action)
                keys.append((self.get_key_display(binding), binding.description + (f" — {tooltip}" if tooltip else "")
                             + ("" if enabled else " (not now)")))
        doc = (type(self.screen).__doc__ or "").strip().split("\n\n")[0]
        self.push_screen(HelpScreen(self.screen.title or self.title, doc, keys))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        if self.dashboard is None:
            return
        yield SystemCommand("Start or resume workers", "every worker the experiment needs, on its devices, detached from the UI",
                            self.action_start_workers)
        yield SystemCommand("Pause workers", "they finish the batch in hand; resume with g", self.action_stop_workers)
        yield SystemCommand("Cancel remaining work", "stop workers and drop pending jobs", self.action_cancel_jobs)
        yield SystemCommand("Export tables", "csv, md, tex and json into the store's exports folder",
                            self.action_export)
        yield SystemCommand("Gallery", "the generated images with their nearest real images", self.action_gallery)
        yield SystemCommand("Iterate on a prompt", "for the class under the cursor", self.action_iterate)
        yield SystemCommand("Repair the failing classes", "try remedies per failing class and measure each gain"
                            " (synthdiv repair)", self.action_repair)
        yield SystemCommand("Compare experiments", "the store's experiments (a sweep) side by side, with intervals",
                            self.action_compare)
        yield SystemCommand("Set up: add classes or templates", "to the open experiment", self.action_setup)
        yield SystemCommand("Help", "every key of this screen", self.action_help)
