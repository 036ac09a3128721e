"""``synthdiv repair``: from diagnosis to remedy, measured.

For each class whose synthetic→real gap is real (its 95 % interval lies above 0), or the classes
named, it plans the remedies of its causes (:mod:`synthdiv.remedies`), makes each remedy's images
of those classes alone — one experiment per remedy, ``BASE/repair/REMEDY``, with the same seeds
where the templates are the same (``[classes.overrides]``, ``[repair] of``) — and retrains the
base experiment's pixel classifier per class and remedy with the other classes' images unchanged
(the runs ``repair:CLASS`` of that experiment). Then it reports, per class, the gap before and
after each remedy with the gain's **paired** interval over the class's real test images
(:func:`synthdiv.remedies.gain`), and writes ``STORE/repair/recipe.toml``: the base experiment
with each class's winning override, only where the gain's interval lies above 0.

Everything it makes is an ordinary experiment of the store, so killing it at any point and
running it again resumes it like ``synthdiv run``: no image or training run is made twice.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from rich.console import Console

from store import experiments, open_store, training
from store.core import Store
from synthdiv import remedies
from synthdiv.errors import SynthdivError
from workbench.config import ClassOverride, ExperimentConfig, from_experiment, to_table

REPAIR_DIR = "repair"
SEPARATOR = "/repair/"  # a remedy's experiment: BASE/repair/REMEDY
RECIPE = "recipe.toml"
REPORT = "report.json"
PLAN = "plan.json"  # the plan of the repair started last (the Repair screen shows it)
PID = "repair.pid"  # the running repair's process id


class RepairRefused(SynthdivError):
    """Nothing to repair, or nothing to measure a repair against (exit 2)."""


def remedy_experiment(base: str, remedy: str) -> str:
    return f"{base}{SEPARATOR}{remedy}"


def is_remedy_experiment(cfg: ExperimentConfig) -> bool:
    return bool(cfg.repair_of)


def base_experiment(st: Store, wanted: str | None) -> tuple[dict, ExperimentConfig]:
    """The experiment to repair: ``wanted``, else the store's only one that ``synthdiv repair`` did
    not make."""
    if wanted:
        exp = experiments.get(st, wanted)
        return exp, from_experiment(exp)
    found = [(e, c) for e in (experiments.get(st, n) for n in experiments.names_of(st))
             if not is_remedy_experiment(c := from_experiment(e))]
    if len(found) == 1:
        return found[0]
    if not found:
        raise RepairRefused(f"store {st.root} holds no experiment to repair", "run one into it first")
    raise RepairRefused(f"store {st.root} holds {len(found)} experiments",
                        f"name the one to repair with --experiment ({', '.join(e['name'] for e, _ in found)})")


# --- what fails, and what to try --------------------------------------------------------------------

def _finished(runs: list[dict], name: str) -> dict | None:
    return next((r for r in runs if r["name"] == name and r["state"] == "done" and r["result"]), None)


def check_measurable(st: Store, exp: dict, cfg: ExperimentConfig) -> tuple[dict, dict]:
    """The base's finished ``synthetic`` and ``real`` runs (the gap's two classifiers), or why
    ``repair`` cannot measure anything (refused, exit 2)."""
    real_test = st.conn.execute("select count(*) from real_images where experiment_id = ? and split = 'test'"
                                " and error is null", [exp["id"]]).fetchone()[0]
    if not real_test:
        raise RepairRefused(f"experiment {exp['name']!r} has no real test split, so no gap to close can be measured",
                            "set [real] source to a set with test images (e.g. \"digits\") and run it again")
    runs = training.runs(st, exp["id"])
    syn, real = _finished(runs, "synthetic"), _finished(runs, "real")
    if syn is None or real is None:
        missing = " and ".join(n for n, r in (("synthetic", syn), ("real", real)) if r is None)
        raise RepairRefused(f"experiment {exp['name']!r} has no finished {missing} training run, so its per-class gap"
                            " (real→real − synthetic→real, pixel classifier) is not known",
                            'set [train] runs = ["synthetic", "real"] and run it (synthdiv run CONFIG)')
    if syn["result"].get("test_truth") is None:
        raise RepairRefused(f"the synthetic run of {exp['name']!r} was recorded before runs kept their predictions",
                            "run it again in a new experiment (a new name) to measure gains paired per test image")
    return syn, real


def chosen_rows(rows: list[dict], classes: list[str] | None, top: int | None) -> list[dict]:
    """The four-causes rows to repair: ``classes`` by name, else the ``top`` largest gaps, else
    every class whose gap interval lies above 0 (refused when there is none)."""
    by_name = {r["class"]: r for r in rows}
    if classes:
        folded = {name.casefold(): name for name in by_name}
        out = []
        for c in classes:
            name = c if c in by_name else folded.get(c.strip().casefold())
            if name is None:
                raise RepairRefused(f"--classes names {c!r}, which is not a class of the experiment",
                                    f"name some of {', '.join(list(by_name)[:10])}")
            out.append(by_name[name])
        return out
    with_gap = [r for r in rows if r.get("gap") is not None]
    if top:
        return sorted(with_gap, key=lambda r: -r["gap"])[:top]
    failing = [r for r in with_gap if r.get("gap_low") is not None and r["gap_low"] > 0]
    if not failing:
        worst = max(with_gap, key=lambda r: r["gap"], default=None)
        shown = (f" (the largest gap: {worst['class']} {worst['gap']:+.3f}, 95 % interval [{worst['gap_low']:+.3f},"
                 f" {worst['gap_high']:+.3f}])" if worst is not None and worst.get("gap_low") is not None else "")
        raise RepairRefused(f"no class's gap interval lies above 0{shown}: synthetic training is not measurably worse"
                            " than real for any class, so there is nothing to repair",
                            "name classes to try anyway with --classes, or --top K for the K largest gaps")
    return failing


def case_of(cfg: ExperimentConfig, row: dict, wnids: dict[str, str] | None) -> remedies.Case:
    """The class of ``row`` as the remedies see it: its evidence and how the base makes its images."""
    label = row["class"]
    g = cfg.generation_for(label)
    return remedies.Case(label=label, prompt_name=dict(cfg.classes)[label], evidence=row,
                         templates=cfg.templates_for(label), guidance=g.guidance, negative_prompt=g.negative_prompt,
                         images_per_prompt=cfg.images_per_prompt_for(label), wnid=(wnids or {}).get(label),
                         definition=cfg.definition_of(label))


@dataclass(frozen=True)
class Plan:
    cases: tuple[remedies.Planned, ...]
    dropped: tuple[tuple[str, str], ...]  # (class, remedy) left out by the budget
    images: int

    def tried(self) -> list[tuple[str, remedies.Candidate]]:
        return [(p.case.label, c) for p in self.cases for c in p.candidates if (p.case.label, c.remedy) not in self.dropped]


def plan(cfg: ExperimentConfig, rows: list[dict], wnids: dict[str, str] | None, budget: int | None,
         only: tuple[str, ...] = ()) -> Plan:
    """Each chosen class's candidates (built-in, then the file's ``[repair.remedies]``), within
    ``budget`` images in all (candidates past it are dropped, said in the plan)."""
    user = tuple((name, o.table()) for name, o in cfg.remedies)
    planned = tuple(remedies.plan(case_of(cfg, r, wnids), user, only) for r in rows)
    dropped, total = [], 0
    for p in planned:
        for c in p.candidates:
            n = c.images(p.case)
            if budget is not None and total + n > budget:
                dropped.append((p.case.label, c.remedy))
                continue
            total += n
    return Plan(planned, tuple(dropped), total)


def _merged(cfg: ExperimentConfig, label: str, override: dict) -> ClassOverride:
    """The class's own override in the base, with the remedy's keys over it."""
    table = {**cfg.override_of(label).table(), **override}
    return ClassOverride(templates=tuple(table.get("templates", ())), guidance=table.get("guidance"),
                         negative_prompt=table.get("negative_prompt"), images_per_prompt=table.get("images_per_prompt"))


def remedy_configs(cfg: ExperimentConfig, p: Plan) -> list[ExperimentConfig]:
    """One experiment per remedy: the base's settings, the remedied classes only (in the base's
    order), each with its override; no real set and no ``[train] runs`` of its own (its runs are
    ``repair:CLASS``, reading the base's images and real test split)."""
    by_remedy: dict[str, dict[str, remedies.Candidate]] = {}
    for label, c in p.tried():
        by_remedy.setdefault(c.remedy, {})[label] = c
    out = []
    defined = dict(zip((c for c, _ in cfg.classes), cfg.definitions))
    for remedy, per_class in by_remedy.items():
        classes = tuple((label, name) for label, name in cfg.classes if label in per_class)
        out.append(replace(
            cfg, name=remedy_experiment(cfg.name, remedy), classes=classes,
            definitions=tuple(defined[label] for label, _ in classes) if cfg.definitions else (),
            overrides=tuple((label, o) for label, _ in classes
                            if (o := _merged(cfg, label, per_class[label].override)) != ClassOverride()),
            train=replace(cfg.train, runs=()), real="", real_mapping="", real_split="", real_label_column="",
            remedies=(), repair_of=cfg.name,
            repair_keep=tuple((label, c.select, c.keep) for label, c in per_class.items() if c.select)))
    return out


# --- the estimate ------------------------------------------------------------------------------------

START_S = 15.0  # starting one experiment's workers and loading its models (the mini models, 2 CPU cores: 12–18 s)


def estimate(st: Store, exp_id: int, syn_run: dict, images: int, runs: int) -> tuple[float | None, float]:
    """Seconds to make ``images`` at the rate the base's images were made (None when unknown), and
    to train ``runs`` runs as long as the base's synthetic run took."""
    first, last, n = st.conn.execute("select min(created_at), max(created_at), count(*) from images where"
                                     " experiment_id = ?", [exp_id]).fetchone()
    rate = (n - 1) / (last - first) if n and n > 1 and last and first and last > first else None
    return (images / rate if rate else None), runs * float(syn_run["result"].get("seconds") or 0.0)


# --- the measurement ----------------------------------------------------------------------------------

def measured(st: Store, base_runs: tuple[dict, dict], names: list[str], p: Plan, cfg: ExperimentConfig) -> list[dict]:
    """Per (class, remedy) tried: the gap before and after, the gain with its paired interval over
    the class's real test images, and the accuracy over every class before and after (a remedy may
    cost another class). ``state`` says where a run is that has not finished."""
    syn, real = base_runs
    truth = np.array(syn["result"]["test_truth"], int)
    before = np.array(syn["result"]["test_pred"]) == truth
    real_ok = np.array(real["result"]["test_pred"]) == truth
    out = []
    for label, c in p.tried():
        k = names.index(label)
        mask = truth == k
        row = {"class": label, "remedy": c.remedy, "cause": c.cause, "what": c.what, "override": c.override,
               "select": c.select or None, "keep": c.keep or None, "equal_n": c.equal_n, "n_test": int(mask.sum()),
               "gap_before": float((real_ok[mask].astype(float) - before[mask]).mean()) if mask.any() else None}
        run = _repair_run(st, cfg.name, c.remedy, label)
        row["state"] = run["state"] if run else "planned"
        if run is None or run["state"] != "done":
            out.append(row)
            continue
        after = np.array(run["result"]["test_pred"]) == truth
        g = remedies.gain(before[mask].astype(float), after[mask].astype(float), seed=k)
        whole = remedies.gain(before.astype(float), after.astype(float), seed=len(names))
        row.update({"gap_after": float((real_ok[mask].astype(float) - after[mask]).mean()),
                    "gain": round(g.value, 6), "gain_low": round(g.low, 6), "gain_high": round(g.high, 6),
                    "accuracy_before": float(before.mean()), "accuracy_after": float(after.mean()),
                    "accuracy_gain_low": round(whole.low, 6), "accuracy_gain_high": round(whole.high, 6),
                    "n_train": run["result"].get("n_train")})
        out.append(row)
    return out


def real_mixes(st: Store, exp_id: int, syn: dict, names: list[str], p: Plan) -> list[dict]:
    """For each class whose cause is concept (no prompt remedy), the measured alternative where the
    base has one: each finished ``mix-Kx`` run (real train images plus synthetic ones) against the
    synthetic run, paired over the class's real test images. Never at equal n, never in the recipe."""
    mixes = [r for r in training.runs(st, exp_id) if r["name"].startswith("mix-") and r["state"] == "done"
             and r["result"] and r["result"].get("test_truth") == syn["result"]["test_truth"]]
    truth = np.array(syn["result"]["test_truth"], int)
    before = (np.array(syn["result"]["test_pred"]) == truth).astype(float)
    out = []
    for pc in p.cases:
        if "concept" not in (pc.case.causes or ("concept",)):
            continue
        k = names.index(pc.case.label)
        mask = truth == k
        for run in mixes:
            after = (np.array(run["result"]["test_pred"]) == truth).astype(float)
            g = remedies.gain(before[mask], after[mask], seed=k)
            out.append({"class": pc.case.label, "remedy": run["name"], "cause": "concept",
                        "what": "the base's real-image mix: real train images plus synthetic ones", "override": {},
                        "select": None, "keep": None, "equal_n": False, "n_test": int(mask.sum()), "state": "done",
                        "gap_before": None, "gap_after": None, "gain": round(g.value, 6), "gain_low": round(g.low, 6),
                        "gain_high": round(g.high, 6), "accuracy_before": float(before.mean()),
                        "accuracy_after": float(after.mean()), "n_train": run["result"].get("n_train")})
    return out


def _repair_run(st: Store, base: str, remedy: str, label: str) -> dict | None:
    exp = experiments.find(st, remedy_experiment(base, remedy))
    if exp is None:
        return None
    return next((r for r in training.runs(st, exp["id"]) if r["name"] == f"repair:{label}"), None)


def winners(rows: list[dict]) -> dict[str, dict]:
    """Per class, the remedy with the largest gain whose interval lies above 0 (none: absent)."""
    best: dict[str, dict] = {}
    for r in rows:
        if r.get("gain_low") is not None and r["gain_low"] > 0 and r["equal_n"] and r["remedy"] != remedies.CONTROL:
            if r["class"] not in best or r["gain"] > best[r["class"]]["gain"]:
                best[r["class"]] = r
    return best


def recipe(cfg: ExperimentConfig, won: dict[str, dict]) -> str:
    """The base experiment as a file, with each winning override in ``[classes.overrides]``, named
    ``BASE-repaired`` and kept in the same store (``store = ".."`` from ``STORE/repair``)."""
    from workbench.control import to_toml

    own = dict(cfg.overrides)
    for label, r in won.items():
        own[label] = _merged(cfg, label, r["override"])
    fixed = replace(cfg, name=f"{cfg.name}-repaired", overrides=tuple((label, own[label]) for label, _ in cfg.classes
                                                                     if label in own), store="")
    filtered = {r["select"]: r["keep"] for r in won.values() if r.get("select")}
    if len(filtered) == 1 and "real" in cfg.train.runs:  # train on the filter's choice too, at full size
        (how, keep), = filtered.items()
        fixed = replace(fixed, train=replace(fixed.train, runs=(*fixed.train.runs, f"{how}-{keep}")))
        if any(len(fixed.templates_for(label)) * fixed.images_per_prompt_for(label) > keep
               for label, _ in cfg.classes if not won.get(label, {}).get("select")):
            fixed = replace(fixed, train=cfg.train)  # it would cut the other classes' images: say it instead
    data = to_table(fixed)
    data["store"] = ".."
    lines = [f"# synthdiv repair's recipe for {cfg.name!r}: the base experiment, with the override of each class whose",
             "# remedy's gain (paired 95 % interval over the class's real test images) lay above 0:"]
    lines += [f"#   {label}: {r['remedy']} ({r['what']}), gain {r['gain']:+.3f} [{r['gain_low']:+.3f},"
              f" {r['gain_high']:+.3f}]" for label, r in won.items()] or ["#   none: no remedy's gain excluded 0."]
    for label, r in won.items():
        if r.get("select") and f"{r['select']}-{r['keep']}" not in fixed.train.runs:
            lines.append(f"# {label}: train on the {r['keep']} images the judge reads as the class: synthdiv export STORE"
                         f" --experiment {fixed.name!r} --dataset imagefolder --select {r['select']} --per-class"
                         f" {r['keep']}")
    lines.append("# Make the repaired dataset at full size: synthdiv run STORE/repair/recipe.toml")
    return "\n".join(lines) + "\n" + to_toml(data)


# --- the command ---------------------------------------------------------------------------------------

def run_repair(store: str, experiment: str | None, classes: list[str] | None, top: int | None,
               budget: int | None, only: tuple[str, ...], dry_run: bool, console: Console) -> int:
    """``synthdiv repair``: 0 when every planned run finished (whether or not a remedy won), 1
    when some failed, 130 on Ctrl-C; refusals raise :class:`RepairRefused` (exit 2)."""
    from workbench.results import results_of

    root = Path(store)
    with open_store(root) as st:
        exp, cfg = base_experiment(st, experiment)
        if is_remedy_experiment(cfg):
            raise RepairRefused(f"{exp['name']!r} was made by synthdiv repair", f"repair {cfg.repair_of!r} instead")
        base_runs = check_measurable(st, exp, cfg)
        bad = [n for n in only if n not in {r.name for r in remedies.REMEDIES} | {n for n, _ in cfg.remedies}]
        if bad:
            raise RepairRefused(f"--remedies names {bad[0]!r}, which is no remedy",
                                f"use some of {', '.join(r.name for r in remedies.REMEDIES)}")
        result = results_of(st, exp["name"]).result
        rows = chosen_rows(result["four_causes"], classes, top)
        from synthdiv.classes import load_class_set

        try:
            wnids = load_class_set(cfg.class_set).wnids  # ImageNet's sets: each class's own WordNet sense
        except SynthdivError:
            wnids = None  # a class file moved since: the senses are looked up by name
        p = plan(cfg, rows, wnids, budget, only)
        tried = p.tried()
        gen_s, train_s = estimate(st, exp["id"], base_runs[0], p.images, len(tried))
        names = experiments.class_names(st, exp["id"])
        mixes = real_mixes(st, exp["id"], base_runs[0], names, p)
    _say_plan(console, cfg, p, gen_s, train_s)
    if not tried:
        console.print("Nothing to try: no prompt remedy applies to these classes (see above).")
        if mixes:
            print_report(console, mixes, {}, p)
        return 0
    if dry_run:
        return 0
    folder = root / REPAIR_DIR
    folder.mkdir(exist_ok=True)
    (folder / PLAN).write_text(json.dumps(plan_table(cfg, p, gen_s, train_s), indent=2), encoding="utf-8")
    (folder / PID).write_text(str(os.getpid()), encoding="utf-8")
    try:
        worst = _run_remedies(cfg, p, root, console)
    finally:
        (folder / PID).unlink(missing_ok=True)
    if worst == 130:
        return worst
    with open_store(root) as st:
        rows_out = measured(st, base_runs, names, p, cfg) + mixes
    won = winners(rows_out)
    (folder / REPORT).write_text(json.dumps({"experiment": cfg.name, "rows": rows_out,
                                             "winners": {k: v["remedy"] for k, v in won.items()},
                                             "notes": {pc.case.label: list(pc.notes) for pc in p.cases if pc.notes}},
                                            indent=2), encoding="utf-8")
    (folder / RECIPE).write_text(recipe(cfg, won), encoding="utf-8")
    print_report(console, rows_out, won, p)
    console.print(f"Recipe: {folder / RECIPE} (synthdiv run {folder / RECIPE} makes the repaired dataset)."
                  f" Report: {folder / REPORT}")
    return worst


def _run_remedies(cfg: ExperimentConfig, p: Plan, root: Path, console: Console) -> int:
    """Run each remedy's experiment to its end, as ``synthdiv run`` does (resuming what is there)."""
    from workbench.plan import size
    from workbench.run import run_one

    configs = remedy_configs(cfg, p)
    worst = 0
    for i, rc in enumerate(configs):
        console.rule(f"remedy {i + 1}/{len(configs)}  {rc.name.split(SEPARATOR, 1)[1]}: "
                     + ", ".join(label for label, _ in rc.classes))
        status = run_one(rc, size(rc), str(root), console, headline=False)
        if status == 130:
            return status
        worst = max(worst, status)
    return worst


def plan_table(cfg: ExperimentConfig, p: Plan, gen_s: float | None, train_s: float) -> dict:
    """The plan as the Repair screen shows it (and ``plan.json`` keeps it)."""
    return {"experiment": cfg.name, "images": p.images, "generation_s": gen_s, "training_s": train_s,
            "start_s": len({c.remedy for _, c in p.tried()}) * START_S,
            "classes": [{"class": pc.case.label, **{k: pc.case.evidence.get(k) for k in ("gap", "gap_low", "gap_high",
                                                                                          "causes")},
                         "notes": list(pc.notes),
                         "remedies": [{"remedy": c.remedy, "what": c.what, "images": c.images(pc.case),
                                       "dropped": (pc.case.label, c.remedy) in p.dropped} for c in pc.candidates]}
                        for pc in p.cases]}


# --- the workbench's view of a repair ----------------------------------------------------------------

def running_pid(root: Path) -> int | None:
    """The process id of the repair running on the store, or None."""
    try:
        pid = int((root / REPAIR_DIR / PID).read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


def start(root: Path, experiment: str) -> int:
    """Start ``synthdiv repair ROOT --experiment NAME`` in a session of its own (it goes on when the
    workbench quits; its output goes to ``logs/repair.log``); its process id."""
    import subprocess
    import sys

    from workbench.supervisor import safe_start, log_path

    if running_pid(root) is not None:
        raise SynthdivError("a repair is already running on this store", "wait for it, or pause it with p")
    log = log_path(root, "repair")
    log.parent.mkdir(exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-c", safe_start("workbench.cli"), "repair", str(root),
                                 "--experiment", experiment], stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONSAFEPATH": "1", "COLUMNS": "100"})
    return proc.pid


def pause(root: Path) -> bool:
    """Ask the running repair to stop (as Ctrl-C: its workers finish their batch); whether one ran."""
    import signal

    pid = running_pid(root)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    return True


def repaired(st: Store, experiment: str | None) -> tuple[dict, ExperimentConfig]:
    """The experiment a repair of ``experiment`` is about: itself, or the base of one repair made."""
    exp, cfg = base_experiment(st, experiment)
    return base_experiment(st, cfg.repair_of) if is_remedy_experiment(cfg) else (exp, cfg)


def state(st: Store, root: Path, experiment: str | None) -> dict:
    """What the Repair screen shows: the plan (the running or last repair's, else what a repair would
    try now, or why it would refuse), each remedy's progress, the report and the recipe once written,
    and whether a repair runs."""
    from store import jobs as job_rows

    exp, cfg = repaired(st, experiment)
    folder = root / REPAIR_DIR
    out: dict = {"experiment": cfg.name, "running": running_pid(root) is not None, "refused": None,
                 "plan": None, "progress": {}, "report": None, "recipe": None, "log": _last_line(root)}
    saved = _read_json(folder / PLAN)
    if saved and saved.get("experiment") == cfg.name:
        out["plan"] = saved
    else:
        try:
            base_runs = check_measurable(st, exp, cfg)
            from workbench.results import results_of

            rows = chosen_rows(results_of(st, exp["name"]).result["four_causes"], None, None)
            p = plan(cfg, rows, None, None)
            out["plan"] = plan_table(cfg, p, *estimate(st, exp["id"], base_runs[0], p.images, len(p.tried())))
        except RepairRefused as exc:
            out["refused"] = exc.message
    for name in experiments.names_of(st):
        if name.startswith(cfg.name + SEPARATOR):
            e = experiments.get(st, name)
            runs = {r["name"].split(":", 1)[1]: r["state"] for r in training.runs(st, e["id"])
                    if r["name"].startswith("repair:")}
            out["progress"][name[len(cfg.name + SEPARATOR):]] = {**job_rows.counts(st, e["id"]), "runs": runs}
    report = _read_json(folder / REPORT)
    if report and report.get("experiment") == cfg.name:
        out["report"] = report
        if (folder / RECIPE).is_file():
            out["recipe"] = str(folder / RECIPE)
    return out


def before_after(st: Store, base: str, label: str, remedy: str, n: int) -> tuple[list[dict], list[dict]]:
    """Up to ``n`` image rows of class ``label`` in the base experiment and in remedy ``remedy``'s,
    the remedy's first (paired by template and seed where the base has the same), each in
    template, seed order."""
    def rows(name: str) -> list[dict]:
        exp = experiments.find(st, name)
        if exp is None:
            return []
        return [dict(r) for r in st.conn.execute(
            "select i.id, i.path, i.template, i.seed, i.guidance, i.prompt from images i join classes c on"
            " c.id = i.class_id where i.experiment_id = ? and c.name = ? order by i.template_id, i.seed",
            [exp["id"], label])]

    after, before = rows(remedy_experiment(base, remedy)), rows(base)
    by_key = {(r["template"], r["seed"]): r for r in before}
    paired = [by_key[(r["template"], r["seed"])] for r in after if (r["template"], r["seed"]) in by_key]
    rest = [r for r in before if r not in paired]
    return (paired + rest)[:n], after[:n]


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _last_line(root: Path) -> str:
    from workbench.supervisor import last_line, log_path

    return last_line(log_path(root, "repair"))


def _say_plan(console: Console, cfg: ExperimentConfig, p: Plan, gen_s: float | None, train_s: float) -> None:
    for pc in p.cases:
        r = pc.case.evidence
        gap = (f"gap {r['gap']:+.3f} [{r['gap_low']:+.3f}, {r['gap_high']:+.3f}]" if r.get("gap_low") is not None
               else "gap —")
        console.print(f"{pc.case.label}: {gap}, causes: {r.get('causes') or 'none'}", highlight=False, markup=False)
        for c in pc.candidates:
            left = (pc.case.label, c.remedy) in p.dropped
            console.print(f"  {'(over budget) ' if left else ''}{c.remedy}: {c.what}, {c.images(pc.case)} images",
                          highlight=False, markup=False)
        for note in pc.notes:
            console.print(f"  {note}", highlight=False, markup=False)
    tried = p.tried()
    experiments_n = len({c.remedy for _, c in tried})
    took = f"~{_duration(gen_s)} of generation at this store's rate" if gen_s is not None else "generation time unknown"
    console.print(f"Plan: {len(tried)} remedies (with the control) for {len(p.cases)} classes, in {experiments_n}"
                  f" experiments: {p.images:,} images ({took}), {len(tried)} training runs (~{_duration(train_s)}, as"
                  f" long as the base's synthetic run took each) and ~{_duration(experiments_n * START_S)} starting"
                  " each experiment's workers.", highlight=False, markup=False)


def _duration(s: float) -> str:
    return f"{s:.0f} s" if s < 120 else f"{s / 60:.0f} min" if s < 7200 else f"{s / 3600:.1f} h"


def print_report(console: Console, rows: list[dict], won: dict[str, dict], p: Plan) -> None:
    from rich import box
    from rich.table import Table

    table = Table(title="synthdiv repair: each class's gap before → after a remedy; the gain, paired over the class's"
                        " real test images (95 % interval, * above 0); accuracy over all classes",
                  title_justify="left", box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False)
    for col in ("class", "remedy", "gap", "gain", "95 % interval", "all"):
        table.add_column(col, justify="left" if col in ("class", "remedy") else "right",
                         no_wrap=col in ("gap", "95 % interval"))
    for r in rows:
        name = r["remedy"] + ("" if r["equal_n"] else " (more n)")
        if r.get("gain") is None:
            table.add_row(r["class"], name, _f(r["gap_before"]), "—", r["state"], "—")
            continue
        star = "*" if r["gain_low"] > 0 and r["remedy"] != remedies.CONTROL else " "
        gap = f"{_f(r['gap_before'])}→{_f(r['gap_after'])}" if r["gap_before"] is not None else "—"
        table.add_row(r["class"], name, gap, f"{r['gain']:+.3f}{star}",
                      f"[{r['gain_low']:+.3f}, {r['gain_high']:+.3f}]", f"{r['accuracy_after'] - r['accuracy_before']:+.3f}")
    console.print(table)
    console.print("control: the base's images retrained, what retraining alone moves. (more n): not at equal n,"
                  " never in the recipe.", highlight=False, markup=False)
    for pc in p.cases:
        label = pc.case.label
        if label in won:
            r = won[label]
            console.print(f"{label}: {r['remedy']} closes the gap by {r['gain']:+.3f} [{r['gain_low']:+.3f},"
                          f" {r['gain_high']:+.3f}]: in the recipe.", highlight=False, markup=False)
        else:
            console.print(f"{label}: no remedy's gain interval lies above 0; none is in the recipe.", highlight=False,
                          markup=False)


def _f(v: float | None) -> str:
    return "—" if v is None else f"{v:+.3f}"
