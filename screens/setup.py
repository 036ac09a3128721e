"""Setting up an experiment by keys: classes, prompt templates, generation, embedding and real images.

The screen edits a config table (the same keys as an experiment TOML file, docs/config.md) and
posts :class:`SetupScreen.Start` with it; the app checks it with the same rules as a file and
starts the workers. Template edits are checked as they are typed, with a preview of the prompts.
"""

from __future__ import annotations

import copy
from typing import Any

from textual import on
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    Button,
    Footer,
    Input,
    Label,
    OptionList,
    SelectionList,
    Static,
    TabbedContent,
    TabPane,
)
from textual.widgets.selection_list import Selection

from synthdiv.classes import load_class_set
from synthdiv.errors import SynthdivError
from synthdiv.settings import Setting, labelled
from synthdiv.templates import builtin_templates, parse_template
from screens.header import Header

# The settings tab: every declared setting with a label (synthdiv.settings), in the doc's order.
SETTINGS: tuple[Setting, ...] = labelled()
PREVIEW_CLASSES = 3


def _typed_field(s: Setting, raw: str) -> Any:
    """A field's text as its setting's kind (None: an empty number field, so the default holds);
    a list of strings is written comma-separated. Raises naming the field on a bad number."""
    if s.kind == "strings":
        return [r.strip() for r in raw.split(",") if r.strip()]
    if s.kind in ("int", "number"):
        if not raw:
            return None
        try:
            return int(raw) if s.kind == "int" else float(raw)
        except ValueError:
            raise SynthdivError(f"{s.label} is {raw!r}", f"write a{'n integer' if s.kind == 'int' else ' number'}") from None
    return raw


def _field_id(section: str, key: str) -> str:
    return f"set-{section or 'top'}-{key}"


class SetupScreen(Screen):
    """Classes, templates and settings of one experiment, all by keys; ``ctrl+s`` starts it."""

    BINDINGS = [
        Binding("f2", "show_tab('tab-classes')", "Classes", id="setup.classes"),
        Binding("f3", "show_tab('tab-templates')", "Templates", id="setup.templates"),
        Binding("f4", "show_tab('tab-settings')", "Settings", id="setup.settings"),
        Binding("ctrl+s", "start", "Start", id="setup.start", priority=True),
        Binding("ctrl+a", "select_shown", "Select shown", show=False, priority=True,
                id="setup.select_shown"),
        Binding("ctrl+x", "clear_selection", "Clear", show=False, priority=True, id="setup.clear"),
        Binding("escape", "leave", "Back", id="setup.back"),
    ]
    DEFAULT_CSS = """
    SetupScreen #class-list { height: 1fr; }
    SetupScreen #class-row { height: 3; }
    SetupScreen #class-set { width: 30; }
    SetupScreen #class-search { width: 1fr; }
    SetupScreen #template-list { height: 1fr; min-height: 4; }
    SetupScreen #template-check { height: auto; padding: 0 1; }
    SetupScreen #template-preview { height: auto; max-height: 5; padding: 0 1; color: $text-muted; }
    SetupScreen #template-keys, SetupScreen #class-count { height: 1; padding: 0 1; color: $text-muted; }
    SetupScreen #settings-grid { grid-size: 2; grid-columns: 44 1fr; grid-rows: 1; grid-gutter: 1 0;
                                 height: auto; padding: 1 0; }
    SetupScreen #settings-grid Label { padding: 0 1; }
    SetupScreen #settings-grid Input { margin: 0 1 0 0; }
    SetupScreen #setup-tabs { height: 1fr; }
    SetupScreen #footer-box { height: auto; max-height: 3; }
    SetupScreen #setup-status { width: 1fr; height: auto; padding: 0 1; }
    SetupScreen #setup-status.error { color: $error; }
    """

    class Start(Message):
        """The user asked to start: the config table and the store folder."""

        def __init__(self, data: dict[str, Any], store: str) -> None:
            super().__init__()
            self.data, self.store = data, store

    def __init__(self, data: dict[str, Any], store: str, can_leave: bool = False) -> None:
        super().__init__()
        self.data = copy.deepcopy(data)
        self.store = store
        self.can_leave = can_leave
        self.labels: tuple[str, ...] = ()
        self.prompt_names: dict[str, str] = {}
        self.definitions: dict[str, str] = {}
        self.selected: set[str] = set()
        self.given: list[str] = []
        self.templates: list[str] = list(self.data.get("templates", {}).get("custom", []))
        if self.data.get("templates", {}).get("builtin"):
            self.templates = list(builtin_templates()) + self.templates
        self.editing: int | None = None
        # [classes.overrides]: shown on each class, kept as they are (editing them here may come later)
        self.overrides: dict[str, dict] = dict(self.data.get("classes", {}).get("overrides", {}))

    # --- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(id="setup-tabs", initial="tab-classes"):
            with TabPane("Classes", id="tab-classes"):
                with Horizontal(id="class-row"):
                    yield Input(self.data.get("classes", {}).get("set", "digits"), id="class-set",
                                placeholder="imagenet, imagenet-raw, imagenet-r, imagenet-a, mini-imagenet, digits or a file", tooltip="Enter loads the class set")
                    yield Input(id="class-search", placeholder="search classes (type to filter)")
                yield Static(id="class-count")
                yield SelectionList[str](id="class-list")
            with TabPane("Templates", id="tab-templates"):
                yield OptionList(id="template-list")
                yield Static("enter adds/saves · on the list: e edit · d delete · u up · b +80 built-in"
                             " · ^x clear", id="template-keys")
                yield Input(id="template-input", placeholder="a new template, e.g. a photo of a {}")
                yield Static(id="template-check")
                yield Static(id="template-preview")
            with TabPane("Settings", id="tab-settings"):
                with VerticalScroll():
                    with Grid(id="settings-grid"):
                        for s in SETTINGS:
                            yield Label(s.label)
                            yield Input(self._value(s), id=_field_id(s.section, s.key), compact=True)
        with Horizontal(id="footer-box"):
            yield Static(id="setup-status")
            yield Button("Start ^s", id="start", variant="success", compact=True)
        yield Footer()

    def _value(self, s: Setting) -> str:
        """The field's text: the experiment's value, else the declared default."""
        if s.section == "":
            return str(self.store if s.key == "store" else self.data.get(s.key, s.default))
        value = self.data.get(s.section, {}).get(s.key, s.default)
        return ", ".join(value) if isinstance(value, (list, tuple)) else str(value)

    def on_mount(self) -> None:
        self.title = "synthdiv · set up an experiment"
        self.sub_title = "F2 classes · F3 templates · F4 settings · ctrl+s start"
        names = self.data.get("classes", {}).get("names")
        self._load_set(self.data.get("classes", {}).get("set", "digits"), names)
        self._show_templates()
        self.query_one("#class-search", Input).focus()

    # --- classes -------------------------------------------------------------------------------

    def _load_set(self, spec: str, names: list[str] | None) -> None:
        try:
            cs = load_class_set(spec.strip() or "digits")
        except SynthdivError as exc:
            self.show_error(exc.message)
            return
        self.labels, self.prompt_names = cs.labels, dict(cs.prompt_names)
        self.definitions = dict(cs.definitions or {})
        self.data.setdefault("classes", {})["set"] = spec.strip()
        self.given = [n for n in names or [] if n in self.prompt_names]  # their order is the experiment's
        if names is None:  # no names in the config: the whole set (as a config file means it)
            self.selected = set(cs.labels) if len(cs.labels) <= 100 else set()
        else:
            self.selected = set(self.given)
        self._fill_classes()
        self.show_status(f"class set {cs.name}: {len(cs.labels)} classes")

    def _fill_classes(self) -> None:
        needle = self.query_one("#class-search", Input).value.strip().casefold()
        shown = [label for label in self.labels if needle in label.casefold()]
        lst = self.query_one("#class-list", SelectionList)
        with self.app.batch_update():
            lst.clear_options()
            lst.add_options([Selection(self._class_text(label), label, label in self.selected) for label in shown])
            if shown:
                lst.highlighted = 0
        self._count()

    def _class_text(self, label: str) -> Text:
        """A class's line: its label, and what its own settings change (``[classes.overrides]``)."""
        text = Text(label)
        own = self.overrides.get(label)
        if own:
            said = [f"{len(v)} template{'s' if len(v) != 1 else ''}" if k == "templates"
                    else f"{k.replace('_', ' ')} {v!r}" if k == "negative_prompt" else f"{k.replace('_', ' ')} {v:g}"
                    for k, v in own.items()]
            text.append(f"  own: {', '.join(said)}", style="italic")
        return text

    def _count(self) -> None:
        shown = self.query_one("#class-list", SelectionList).option_count
        own = sum(label in self.selected for label in self.overrides)
        self.query_one("#class-count", Static).update(
            f"{len(self.selected)} of {len(self.labels)} selected · {shown} shown"
            + (f" · {own} with settings of their own" if own else "")
            + " · space toggles · ^a all shown · ^x none")
        self._preview()

    @on(Input.Submitted, "#class-set")
    def _set_submitted(self, event: Input.Submitted) -> None:
        self._load_set(event.value, None)

    @on(Input.Changed, "#class-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._fill_classes()

    @on(Input.Submitted, "#class-search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#class-list", SelectionList).focus()

    @on(SelectionList.SelectedChanged, "#class-list")
    def _selection_changed(self, event: SelectionList.SelectedChanged) -> None:
        lst = event.selection_list
        shown = {lst.get_option_at_index(i).value for i in range(lst.option_count)}
        self.selected = (self.selected - shown) | set(lst.selected)
        self._count()

    def action_select_shown(self) -> None:
        self.query_one("#class-list", SelectionList).select_all()

    def action_clear_selection(self) -> None:
        if self.focused is not None and self.focused.id == "template-list":
            self.templates.clear()
            self._show_templates()
            return
        self.selected.clear()
        self.query_one("#class-list", SelectionList).deselect_all()
        self._count()  # the list may show none of the cleared classes

    # --- templates -----------------------------------------------------------------------------

    def _show_templates(self) -> None:
        lst = self.query_one("#template-list", OptionList)
        keep = lst.highlighted
        lst.clear_options()
        lst.add_options([Text(f"{i + 1:>3}  {t}") for i, t in enumerate(self.templates)])
        if self.templates:
            lst.highlighted = min(keep or 0, len(self.templates) - 1)
        self.query_one(TabbedContent).get_tab("tab-templates").label = f"Templates ({len(self.templates)})"
        self._preview()

    def _chosen_classes(self) -> list[str]:
        """The chosen classes: those the config named, in its order (an experiment's class order is
        kept), then the others chosen here, in the set's order."""
        kept = [label for label in self.given if label in self.selected]
        return kept + [label for label in self.labels if label in self.selected and label not in kept]

    def _preview(self) -> None:
        if not self.is_mounted:
            return
        text = self.query_one("#template-input", Input).value
        if not text:
            lst = self.query_one("#template-list", OptionList)
            if lst.highlighted is not None and lst.highlighted < len(self.templates):
                text = self.templates[lst.highlighted]
        check, preview = self.query_one("#template-check", Static), self.query_one("#template-preview", Static)
        if not text:
            check.update("")
            preview.update("")
            return
        try:
            t = parse_template(text)
        except SynthdivError as exc:
            check.update(Text(f"✗ {exc.message}", style="red"))
            preview.update("")
            return
        check.update(Text.assemble(("✓ valid", "green"), "  (editing; enter saves)" if self.editing is not None else ""))
        chosen = self._chosen_classes()[:PREVIEW_CLASSES] or list(self.labels[:PREVIEW_CLASSES])
        preview.update(Text("\n".join(f"→ {t.render(self.prompt_names[c], self.definitions.get(c, ''))}" for c in chosen)))

    @on(Input.Changed, "#template-input")
    def _template_changed(self, event: Input.Changed) -> None:
        self._preview()

    @on(OptionList.OptionHighlighted, "#template-list")
    def _template_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._preview()

    @on(Input.Submitted, "#template-input")
    def _template_submitted(self, event: Input.Submitted) -> None:
        try:
            t = parse_template(event.value)
        except SynthdivError as exc:
            self.show_error(exc.message)
            return
        if t.text in self.templates and (self.editing is None or self.templates[self.editing] != t.text):
            self.show_error(f"the template {t.text!r} is already in the list")
            return
        if self.editing is not None:
            self.templates[self.editing] = t.text
            self.show_status(f"template {self.editing + 1} saved")
        else:
            self.templates.append(t.text)
            self.show_status(f"template added ({len(self.templates)} in all)")
        self.editing = None
        event.input.value = ""
        self._show_templates()

    def on_key(self, event) -> None:
        lst = self.query_one("#template-list", OptionList)
        if self.focused is not lst or lst.highlighted is None or not self.templates:
            if self.focused is lst and event.key == "b":
                self._add_builtin()
                event.stop()
            return
        i = lst.highlighted
        if event.key == "e":
            self.editing = i
            box = self.query_one("#template-input", Input)
            box.value = self.templates[i]
            box.focus()
        elif event.key in ("d", "delete"):
            removed = self.templates.pop(i)
            self.show_status(f"template removed: {removed}")
            self._show_templates()
        elif event.key == "u" and i > 0:
            self.templates[i - 1], self.templates[i] = self.templates[i], self.templates[i - 1]
            self._show_templates()
            lst.highlighted = i - 1
        elif event.key == "b":
            self._add_builtin()
        else:
            return
        event.stop()

    def _add_builtin(self) -> None:
        new = [t for t in builtin_templates() if t not in self.templates]
        self.templates += new
        self.show_status(f"{len(new)} built-in templates added")
        self._show_templates()

    # --- start ---------------------------------------------------------------------------------

    def config(self) -> tuple[dict[str, Any], str]:
        """The config table the screen describes, and the store folder (raises on a bad number)."""
        chosen = self._chosen_classes()
        data: dict[str, Any] = {"classes": {"set": self.data.get("classes", {}).get("set", "digits"), "names": chosen},
                                "templates": {"custom": list(self.templates)},
                                "generation": {}, "embedding": {}, "real": {}, "train": {}}
        if any(label in self.overrides for label in chosen):  # the chosen classes' own settings, as they were
            data["classes"]["overrides"] = {label: o for label, o in self.overrides.items() if label in chosen}
        if self.data.get("cluster"):
            data["cluster"] = {}  # where it runs (no field here): as the experiment had it
        if self.data.get("repair"):
            data["repair"] = {}  # synthdiv repair's keys (no field here): as the experiment had them
        for k in ("embedding", "generation", "real", "train", "cluster", "repair"):
            for key, value in self.data.get(k, {}).items():  # keys the screen has no field for
                data[k][key] = value
        store = self.store
        for s in SETTINGS:
            raw = self.query_one(f"#{_field_id(s.section, s.key)}", Input).value.strip()
            if s.section == "" and s.key == "store":
                store = raw
                continue
            value = _typed_field(s, raw)
            target = data if s.section == "" else data[s.section]
            if value is None or (value == "" and s.key in ("pretrained", "source")):
                target.pop(s.key, None)
            else:
                target[s.key] = value
        for section in ("real", "train"):
            if not data[section] or (section == "train" and not data["train"].get("runs")):
                del data[section]  # no real set; no training (its other keys mean nothing without runs)
        return data, store

    def action_start(self) -> None:
        try:
            data, store = self.config()
        except SynthdivError as exc:
            self.show_error(exc.message)
            return
        if not data["classes"]["names"]:
            self.show_error("no class is chosen: select some on the Classes tab (F2; space toggles)")
            return
        if not data["templates"]["custom"]:
            self.show_error("there is no prompt template: add one on the Templates tab (F3)")
            return
        if not store:
            self.show_error("the store folder is empty: name one on the Settings tab (F4)")
            return
        self.show_status("checking the experiment and starting the workers …")
        self.post_message(self.Start(data, store))

    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.action_start()

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        first = {"tab-classes": "#class-search", "tab-templates": "#template-list",
                 "tab-settings": f"#{_field_id('', 'name')}"}[tab]
        self.query_one(first).focus()

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "leave":
            return self.can_leave
        return True

    def action_leave(self) -> None:
        if self.can_leave:
            self.dismiss()

    def show_status(self, text: str) -> None:
        status = self.query_one("#setup-status", Static)
        status.remove_class("error")
        status.update(Text(text))

    def show_error(self, text: str, title: str = "") -> None:
        status = self.query_one("#setup-status", Static)
        status.add_class("error")
        status.update(Text(f"✗ {text}"))
