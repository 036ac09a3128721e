"""The ``synthdiv`` command line.

Errors the user can fix print one line (the problem, then the fix) and exit 2, never a
traceback; a run whose workers fail exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.table import Table

from synthdiv.errors import SynthdivError
from workbench.console import problem, text_console

EPILOG = """\
examples:
  synthdiv                                     the workbench on the default experiment (digits, offline)
  synthdiv run examples/tiny.toml              run an experiment headless (resumes if run again)
  synthdiv run examples/tiny.toml --store D    ... into store folder D
  synthdiv run E.toml --ray 10.0.0.1:6379      ... on a Ray cluster's GPUs, the store here (docs/ray.md)
  synthdiv status D                            counts of images, embeddings and jobs in D
  synthdiv status D --json                     the same as JSON
  synthdiv check D                             every image file against its recorded SHA-256
  synthdiv open D                              a live view of D in the terminal (q quits)
  synthdiv report D                            headline numbers and the four causes per class
  synthdiv export D --format csv,md --out T    every result table, with what reproduces it
  synthdiv export D --dataset hf --out S       the synthetic images as a Hugging Face dataset (parquet)
  synthdiv export D --dataset imagefolder --only-adherent --per-class 100 --out S
                                               ... only images CLIP reads as their class, 100 a class
  synthdiv export D --dataset hf --select diverse --per-class 50 --out S
                                               ... the 50 most diverse of each class (k-centre)
  synthdiv figures D --out F                   paper figures (png, pdf, svg) with captions in F/figures.md
  synthdiv compare D                           the experiments of D (a sweep) side by side, with intervals
  synthdiv repair D                            try remedies for the failing classes; a recipe of the winners
  synthdiv classes imagenet --search retriever find class names
  synthdiv templates                           the built-in prompt templates
  synthdiv mini verify                         check the shipped mini models' quality numbers

The experiment file format is described in docs/config.md.
"""


def _cmd_run(args: argparse.Namespace) -> int:
    from workbench.run import run_experiment

    return run_experiment(args.config, args.store, _output(args), yes=args.yes, ray=args.ray)


def _cmd_status(args: argparse.Namespace) -> int:
    from synthdiv.errors import first_line
    from screens.status import running_line, training_line, workers_view
    from store.workers import worker_problem
    from store import experiments, open_store
    from store.status import experiment_summary, summary
    from workbench.priority import stalled

    with open_store(args.store, readonly=True) as st:
        if args.experiment:
            data = experiment_summary(st, experiments.get(st, args.experiment))
            data = {"store": str(st.root), **data}
        else:
            data = summary(st)
    for e in data["experiments"] if "experiments" in data else [data]:
        stalled(e)  # a worker that makes no progress while work waits: said with its likely cause
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    console = _output(args)
    per = data["experiments"] if "experiments" in data else [data]
    console.print(f"Store {data['store']}")
    if not per:
        console.print("No experiment yet: run one with synthdiv run CONFIG --store " + data["store"])
    for e in per:
        j = e["jobs"]
        table = Table(title=f"experiment {e['name']}", title_justify="left", show_header=False, box=None)
        table.add_column(style="bold")
        table.add_column()
        table.add_row("plan", f"{e['classes']} classes × {e['templates']} templates = {e['prompts']} prompts")
        table.add_row("images", f"{e['images']} made of {sum(j.values())} jobs "
                      f"(pending {j['pending']}, running {j['running']}, failed {j['failed']})")
        table.add_row("embeddings", f"{e['image_embeddings']} image, {e['text_embeddings']} text, "
                      f"{e['real_embeddings']} real")
        if e["real_images"] or e["real_unreadable"]:
            table.add_row("real images", f"{e['real_images']}"
                          + (f" ({e['real_unreadable']} unreadable, skipped)" if e["real_unreadable"] else ""))
        if e.get("training"):
            table.add_row("training", training_line(e["training"]))
        table.add_row("workers", running_line(e["workers_running"], hosts=True) or "none running")
        console.print(table)
        if e.get("workers"):
            console.print(workers_view(e["workers"]))
    for e in per:
        for w in e["worker_errors"][:2]:
            who, why = worker_problem(w)
            console.print(problem(f"{e['name']}: {who}:", why))
        for r in e.get("training", []):
            if r["state"] == "failed":
                console.print(problem(f"{e['name']}: training run {r['name']} failed:", first_line(r["error"])))
        for j in e["job_errors"][:2]:
            console.print(problem(f"{e['name']}: job for {j['class']} (seed {j['seed']}) {j['state']}:",
                                  first_line(j['error'])))
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from store import experiments, images, open_store
    from store.images import consistency

    console = _output(args)
    with open_store(args.store, readonly=not args.fix) as st:
        chosen = [experiments.get(st, args.experiment)] if args.experiment else \
            [experiments.get(st, n) for n in experiments.names_of(st)]
        bad = 0
        for exp in chosen:
            with Progress(console=console, transient=True) as bar:
                task = bar.add_task(f"checking {exp['name']}", total=None)
                damaged = images.damaged_files(st, exp["id"], lambda i, n: bar.update(task, completed=i, total=n))
            total = images.count(st, exp["id"])
            if not damaged:
                console.print(f"{exp['name']}: all {total} images are present and match their SHA-256.")
                continue
            bad += len(damaged)
            console.print(f"{exp['name']}: {len(damaged)} of {total} images are damaged:")
            for d in damaged[:20]:
                console.print(f"  {st.root / d['path']}: {d['problem']}")
            if len(damaged) > 20:
                console.print(f"  … and {len(damaged) - 20} more")
            if args.fix:
                images.requeue(st, [d["id"] for d in damaged], "the image file was missing or changed (synthdiv check)")
                console.print(f"Their jobs are back in the queue: run the experiment again to make them "
                              f"(synthdiv run CONFIG --store {st.root}, or g in synthdiv open {st.root}).")
        orphans = consistency(st)["files_without_rows"]
    if orphans:
        console.print(f"{len(orphans)} PNG files in {st.root / 'images'} have no row (left by a process that was "
                      "killed before recording them; harmless, made again when their job runs).")
    if bad and not args.fix:
        console.print("Put their jobs back in the queue with: synthdiv check " + str(args.store) + " --fix")
    return 1 if bad else 0


def _cmd_report(args: argparse.Namespace) -> int:
    from store import open_store
    from workbench.printing import print_causes, print_encoders, print_summary, print_templates, print_training
    from workbench.results import results_of

    with open_store(args.store, readonly=True) as st:
        res = results_of(st, args.experiment)
        result, encoders = res.result, res.encoders
        if args.json:
            from workbench.export import report_data

            print(json.dumps(report_data(res), indent=2))
            return 0
    console = _output(args)
    print_summary(console, result, res.model)
    print_training(console, res.runs)
    print_causes(console, result, limit=None if args.all else 15)
    print_templates(console, result, limit=None if args.all else 15)
    print_encoders(console, encoders)
    return 0


def _formats(text: str, allowed: tuple[str, ...], command: str, fix: str) -> list[str]:
    """The comma-separated formats of ``--format``, each one of ``allowed`` (exit 2 naming the bad ones)."""
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    bad = [f for f in formats if f not in allowed]
    if bad or not formats:
        raise SynthdivError(f"unknown {command} format {','.join(bad) or text!r}", fix)
    return formats


def _cmd_export(args: argparse.Namespace) -> int:
    if args.datasette_metadata:
        return _export_datasette(args)
    if args.out is None:
        raise SynthdivError("export needs a folder to write into", "add --out DIR")
    if args.dataset:
        return _export_dataset(args)
    for flag, given in (("--min-clip-score", args.min_clip_score is not None), ("--only-adherent", args.only_adherent),
                        ("--per-class", args.per_class is not None), ("--files", args.files is not None),
                        ("--select", args.select is not None),
                        ("--shard-size", args.shard_size is not None)):
        if given:
            raise SynthdivError(f"{flag} filters a dataset export", "add --dataset imagefolder, hf or webdataset")
    from store import experiments, open_store
    from workbench.export import FORMATS, export
    from workbench.results import output_folder, results_of

    formats = _formats(args.format or ",".join(FORMATS), FORMATS, "export", f"use one or more of {', '.join(FORMATS)}")
    with open_store(args.store, readonly=True) as st:  # the store and the experiment first: a bad one creates nothing
        res = results_of(st, args.experiment)
        out = output_folder(st, args.out)
        extra, extra_json = {}, {}
        if len(experiments.names_of(st)) >= 2:  # the store's compare tables beside the experiment's
            from workbench.compare import comparison_of, tables_of

            try:
                comparison = comparison_of(st, baseline=res.exp["name"])
            except SynthdivError:
                comparison = None  # fewer than two experiments have embeddings yet
            if comparison is not None:
                extra, extra_json = tables_of(comparison), {"comparison": comparison}
        files = export(res, formats, out, extra, extra_json)
    if not args.quiet:
        print(f"Wrote {len(files)} files to {out}: " + ", ".join(p.name for p in files))
    return 0


def _export_datasette(args: argparse.Namespace) -> int:
    """``--datasette-metadata FILE``: every table's and column's description, for Datasette."""
    from store import open_store
    from store.documentation import datasette_metadata

    with open_store(args.store, readonly=True) as st:  # a store it must be
        root = st.root
    path = Path(args.datasette_metadata).expanduser()
    path.write_text(json.dumps(datasette_metadata("synthdiv"), indent=2), encoding="utf-8")  # synthdiv.db's stem
    if not args.quiet:
        print(f"Wrote {path}: descriptions of every table and column. Browse with: datasette {root / 'synthdiv.db'}"
              f" -m {path}")
    return 0


def _export_dataset(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from store import open_store
    from workbench.dataset import DatasetFilter, export_dataset
    from workbench.results import output_folder, results_of

    if args.format:
        raise SynthdivError("--format chooses table formats, not a dataset's", "leave it out with --dataset")
    if args.per_class is not None and args.per_class < 1:
        raise SynthdivError(f"--per-class {args.per_class} keeps no image", "give a number of images per class, 1 or more")
    if args.shard_size is not None and args.shard_size < 1:
        raise SynthdivError(f"--shard-size {args.shard_size} is not a number of images", "give 1 or more")
    if args.select and args.per_class is None:
        raise SynthdivError(f"--select {args.select} chooses among a class's images at a budget",
                            "give the budget with --per-class N")
    flt = DatasetFilter(args.min_clip_score, args.only_adherent, args.per_class, args.select)
    console = _output(args)
    existed = Path(args.out).expanduser().exists()
    with open_store(args.store, readonly=True) as st:
        res = results_of(st, args.experiment)
        out = output_folder(st, args.out, "dataset")
        try:
            with Progress(console=console, transient=True) as bar:
                task = bar.add_task("choosing images", total=None)
                manifest = export_dataset(res, args.dataset, out, flt, args.files or "link", args.shard_size,
                                          lambda what, i, n: bar.update(task, completed=i, total=n, description=what),
                                          shuffle_seed=args.shuffle_seed)
        except BaseException:
            if not existed and out.is_dir() and not any(out.iterdir()):
                out.rmdir()  # made by the writability check: a failed export leaves nothing behind
            raise
    dropped = ", ".join(f"{n} {why.replace('_', ' ')}" for why, n in manifest["dropped"].items() if n)
    how = ", ".join(f"{n} {w}" for w, n in manifest["files"].items())
    console.print(f"Wrote the {args.dataset} dataset: {manifest['count']} images in {len(manifest['per_class'])} classes "
                  f"to {out} ({how}; checked against their SHA-256)" + (f"; left out: {dropped}" if dropped else "")
                  + f". What it holds and how it was chosen: {out / 'synthdiv-dataset.json'}")
    return 0


def _cmd_figures(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from store import open_store
    from workbench.figures import FORMATS, draw_figures, pyplot
    from workbench.results import output_folder, results_of

    formats = _formats(args.format, FORMATS, "figure", f"use one or more of {', '.join(FORMATS)}")
    pyplot()  # the extra before anything else: exit 2 naming it
    console = _output(args)
    with open_store(args.store, readonly=True) as st:
        res = results_of(st, args.experiment)
        out = output_folder(st, args.out, "figures")
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("drawing", total=None)
            files, captions = draw_figures(res, out, formats,
                                           lambda what, i, n: bar.update(task, completed=i, total=n, description=what))
    console.print(f"Wrote {len(files)} figure files ({', '.join(formats)}) to {out}; captions and provenance: {captions}")
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from store import open_store
    from workbench.compare import comparison_of, tables_of
    from workbench.printing import print_comparison
    from workbench.export import FORMATS, write_tables

    names = [n.strip() for n in args.experiments.split(",") if n.strip()] if args.experiments else None
    formats = _formats(args.format, ("table", *FORMATS), "compare",
                       f"use table (printed) or one or more of {', '.join(FORMATS)} with --out DIR")
    files = [f for f in formats if f != "table"]
    if files and not args.out:
        raise SynthdivError(f"--format {','.join(files)} writes files and needs a folder", "add --out DIR")
    console = _output(args)
    with open_store(args.store, readonly=True) as st:
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("analysing", total=None)
            comparison = comparison_of(st, names, args.baseline, args.measure,
                                       lambda i, n, name: bar.update(task, completed=i, total=n,
                                                                     description=f"analysing {name}"))
        if "table" in formats:
            print_comparison(console, comparison, limit=None if args.all else 15)
        if files:
            from store import check_writable

            out = check_writable(Path(args.out).expanduser().resolve(), option="--out")
            meta = {"store": str(st.root), "baseline": comparison["baseline"], "varying": comparison["varying"],
                    "synthdiv_version": __import__("synthdiv").__version__}
            written = write_tables(tables_of(comparison), files, out, f"synthdiv compare: {st.root}", meta,
                                   {"metadata": meta, **comparison}, "synthdiv-compare")
            console.print(f"Wrote {len(written)} files to {out}: " + ", ".join(p.name for p in written))
    return 0


def _cmd_repair(args: argparse.Namespace) -> int:
    from workbench.repair import run_repair

    classes = [c.strip() for c in args.classes.split(",") if c.strip()] if args.classes else None
    only = tuple(r.strip() for r in args.remedies.split(",") if r.strip()) if args.remedies else ()
    return run_repair(args.store, args.experiment, classes, args.top, args.budget, only, args.plan, _output(args))


def _cmd_completion(args: argparse.Namespace) -> int:
    from workbench.completion import script

    sys.stdout.write(script(build_parser(), args.shell))
    return 0


def _cmd_open(args: argparse.Namespace) -> int:
    from store import open_store
    from workbench.app import WorkbenchApp

    from screens.pictures import detect

    with open_store(args.store) as st:  # a clear error before the screen takes over (read-only where it must be)
        if args.experiment:
            from store import experiments

            experiments.get(st, args.experiment)  # names the store's experiments when it has none of this name
    app = WorkbenchApp(args.store, pictures=detect(args.images), experiment=args.experiment)  # auto asks the terminal now, before Textual owns it
    app.run()
    return app.return_code or 0


def _cmd_workbench(args: argparse.Namespace) -> int:
    """No arguments: the workbench on the default experiment — its dashboard when its store
    already holds it (re-attaching to running workers), else the setup screen, pre-filled."""
    from store import DB_NAME
    from workbench.app import WorkbenchApp
    from workbench.defaults import DEFAULT_STORE, default_experiment

    from screens.pictures import detect

    pictures = detect("auto")  # asks the terminal now, before Textual owns it
    if (Path(DEFAULT_STORE) / DB_NAME).exists():
        WorkbenchApp(DEFAULT_STORE, pictures=pictures).run()
    else:
        WorkbenchApp(setup=default_experiment(), setup_store=DEFAULT_STORE, pictures=pictures).run()
    return 0


def _cmd_classes(args: argparse.Namespace) -> int:
    from synthdiv.classes import load_class_set

    cs = load_class_set(args.set)
    needle = (args.search or "").casefold()
    for i, label in enumerate(cs.labels):
        if needle in label.casefold():
            print(f"{i:5d}  {label}")
    return 0


def _cmd_templates(args: argparse.Namespace) -> int:
    from synthdiv.templates import builtin_templates

    for i, t in enumerate(builtin_templates()):
        print(f"{i:3d}  {t}")
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    import json

    from workbench.schema import json_schema

    text = json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.out:
        Path(args.out).expanduser().write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def _store_arguments(p: argparse.ArgumentParser, experiment_help: str) -> None:
    p.add_argument("store", metavar="DIR", help="store folder")
    p.add_argument("--experiment", metavar="NAME", help=experiment_help)


class _Version(argparse.Action):
    """``--version``: the versions (:mod:`workbench.versions`), then exit 0."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):  # noqa: A002
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from workbench.versions import version_text

        print(version_text())
        parser.exit()


def _talk_arguments(p: argparse.ArgumentParser) -> None:
    """``-q`` and ``-v`` of a long command."""
    talk = p.add_mutually_exclusive_group()
    talk.add_argument("-q", "--quiet", action="store_true",
                      help="print nothing but errors (no progress bars, no summary): the exit status says how it went")
    talk.add_argument("-v", "--verbose", action="store_true",
                      help="also show the model libraries' own messages (diffusers, transformers, in the workers too)"
                      " and the traceback behind an error")


def _json_argument(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--json", action="store_true", help=f"print {what} as JSON; an error is then JSON too"
                   ' ({"error": …, "fix": …}, exit status 2)')


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="synthdiv",
        description="A terminal workbench for studying synthetic image distributions from "
        "text-to-image models: generate images for classes × prompt templates × seeds, embed them "
        "with CLIP, and keep everything in a SQLite store. With no command (in a terminal) it opens the "
        "workbench on the default experiment: the ten digits, drawn and embedded by the shipped mini models, "
        "stored in runs/digits — set it up by keys, start it, watch the four causes per class.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action=_Version, help="print synthdiv's version, the versions of torch, diffusers,"
                        " open_clip and the other libraries its numbers depend on, and the CUDA torch sees; then exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("run", help="run an experiment headless: generate and embed, resumably",
                       description="Expand CONFIG into jobs, start a generation and an embedding worker, "
                       "show progress, and exit 0 when every image is made and embedded. Running it "
                       "again resumes; nothing is done twice.")
    p.add_argument("config", help="experiment file (TOML; see docs/config.md)")
    p.add_argument("--store", metavar="DIR", help="store folder (default: the config's store key, else runs/NAME)")
    p.add_argument("--yes", action="store_true",
                   help="run a plan of more than 2,000,000 images (refused without it: usually a typo)")
    p.add_argument("--ray", nargs="?", const="auto", metavar="ADDRESS",
                   help="generate and embed on a Ray cluster, the store staying here (as [cluster] engine = \"ray\";"
                   " docs/ray.md): ADDRESS is auto (the default: RAY_ADDRESS, a cluster ray start began on this"
                   " machine, else a new one here), local (a new one here), HOST:PORT or ray://HOST:PORT."
                   " Needs the ray extra: pip install \"synthdiv[ray]\"")
    _talk_arguments(p)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("status", help="counts of images, embeddings and jobs in a store")
    _store_arguments(p, "only this experiment")
    _json_argument(p, "the counts")
    p.set_defaults(func=_cmd_status)

    p = sub.add_parser("check", help="check every image file against its recorded SHA-256",
                       description="Read every generated image of the store and compare it with the SHA-256 "
                       "recorded when it was made. Lists missing and changed files and exits 1 if there are any; "
                       "--fix puts their jobs back in the queue so the next run makes them again (same seed and "
                       "settings: the same image). synthdiv run already re-queues missing files by itself; this "
                       "also finds files that are present but changed.")
    _store_arguments(p, "only this experiment")
    p.add_argument("--fix", action="store_true", help="put the jobs of missing or changed images back in the queue")
    _talk_arguments(p)
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("report", help="the headline numbers and the four causes per class, largest synthetic gap first",
                       description="Print the experiment's headline numbers and its four-causes table "
                       "(ambiguity, prompt adherence, diversity, concept representation): the classes ranked by the "
                       "gap real→real − synthetic→real accuracy (the [train] runs' pixel classifiers where they "
                       "finished, else the linear probes on CLIP), each with its paired 95 % interval and the causes "
                       "whose evidence crosses its threshold (docs/causes.md); it starts with the classes whose gap "
                       "interval lies above 0. Uses the newest stored analysis if it is current, else computes one.")
    _store_arguments(p, "the experiment (needed when the store holds several)")
    p.add_argument("--all", action="store_true", help="every class, not just the 15 with the largest gap")
    _json_argument(p, "every table of the report (headline with intervals, four causes, training, templates)")
    _talk_arguments(p)
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("export", help="write every result table (CSV, Markdown, LaTeX, JSON), or the images as a dataset",
                       description="Write the diversity, accuracy, confusion, four-causes and geometry tables "
                       "and the class × class matrices, with the models, hashes, settings and counts behind them. "
                       "With --dataset, write the synthetic images instead, as a dataset any training code reads: "
                       "imagefolder (OUT/CLASS/FILE.png, torchvision's ImageFolder; CLASS starts with the class's index, "
                       "which fixes the label order), hf (parquet with a dataset card: datasets.load_dataset(OUT) gives "
                       "label as a ClassLabel of the class names) or webdataset (tar shards of KEY.png, KEY.cls, "
                       "KEY.json, in a seeded shuffled order). Every image's prompt, template, seed, model and "
                       "CLIP score go with it; files are hard-linked or copied from the store, never moved, and "
                       "checked against their SHA-256; OUT/synthdiv-dataset.json records the filter and the counts.")
    _store_arguments(p, "the experiment (needed when the store holds several)")
    p.add_argument("--format", help="tables: csv, md, tex, json, or several comma-separated (default: all)")
    p.add_argument("--out", metavar="DIR", help="folder to write into (for --dataset: a new or empty one)")
    p.add_argument("--datasette-metadata", metavar="FILE", help="write Datasette's metadata instead (JSON: every"
                   " table's and column's description, docs/store.md): datasette STORE/synthdiv.db -m FILE")
    p.add_argument("--dataset", choices=("imagefolder", "hf", "webdataset"),
                   help="write the synthetic images as a dataset in this layout instead of the tables")
    p.add_argument("--min-clip-score", type=float, metavar="S",
                   help="--dataset: only images whose CLIP cosine with their own prompt is at least S")
    p.add_argument("--only-adherent", action="store_true",
                   help="--dataset: only images CLIP zero-shot reads as their own class (He et al. 2023)")
    p.add_argument("--per-class", type=int, metavar="N",
                   help="--dataset: at most N images per class (after the other filters; spread over templates)")
    p.add_argument("--select", choices=("random", "clip", "adherent", "diverse"),
                   help="--dataset with --per-class N: the N a curation keeps — random, the top CLIP scores, those the"
                        " real-trained judge reads as the class, or the most diverse (greedy k-centre); docs/repair.md")
    p.add_argument("--files", choices=("link", "copy"),
                   help="--dataset: hard-link the store's files where the file system allows (default), or copy them")
    p.add_argument("--shard-size", type=int, metavar="N", help="--dataset webdataset: images per tar shard (default 10000); hf: images per parquet file"
                   " (default 1000)")
    p.add_argument("--shuffle-seed", type=int, default=0, metavar="N",
                   help="--dataset webdataset: the seed of the samples' shuffled order (default 0; recorded in the"
                   " manifest)")
    _talk_arguments(p)
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("figures", help="paper figures: heatmaps, the four causes, diversity vs adherence, sweeps, samples",
                       description="Draw the experiment's figures for a paper with matplotlib (the optional extra: "
                       'pip install "synthdiv[figures]"): the class × class heatmaps, the four causes per class, '
                       "diversity against adherence, a sweep's curves with 95 % bands (a store of several "
                       "experiments varying one number), and a sample grid per class (synthetic images above their "
                       "nearest real ones; the 50 worst classes at most). Text stays text in PDF and SVG. "
                       "figures.md beside them holds each figure's caption and the numbers' provenance.")
    _store_arguments(p, "the experiment (needed when the store holds several)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write into")
    p.add_argument("--format", default="png,pdf,svg", help="png, pdf, svg, or several comma-separated (default: all)")
    _talk_arguments(p)
    p.set_defaults(func=_cmd_figures)

    p = sub.add_parser("compare", help="compare the experiments of a store (a sweep) with confidence intervals",
                       description="Every experiment's headline numbers, each with its 95 % bootstrap interval "
                       "(printed with the experiments across; one row per experiment in the files); each experiment against a baseline (the mean per-class difference, paired over "
                       "classes, * where its interval excludes 0); the classes that differ most for one measure; "
                       "and, for a sweep of one numeric key, a plot of each headline number against it.")
    p.add_argument("store", metavar="DIR", help="store folder")
    p.add_argument("--experiments", metavar="A,B,...", help="only these experiments, in this order (default: all)")
    p.add_argument("--baseline", metavar="NAME", help="the experiment the others are compared with (default: the first)")
    from synthdiv.compare import PER_CLASS

    p.add_argument("--measure", default="synthetic_to_real", choices=tuple(PER_CLASS),
                   help="the per-class number compared class by class (default: synthetic_to_real)")
    p.add_argument("--format", default="table",
                   help="table (printed, the default) and/or csv, md, tex, json written to --out")
    p.add_argument("--out", metavar="DIR", help="folder for the csv, md, tex or json files")
    p.add_argument("--all", action="store_true", help="every class in the per-class table, not just the 15 largest")
    _talk_arguments(p)
    p.set_defaults(func=_cmd_compare)

    p = sub.add_parser(
        "repair", help="find, per failing class, the prompt or setting that closes its gap, and prove it",
        description="For each class whose synthetic→real gap (pixel classifier) has a 95 % interval above 0, try the"
                    " remedies of its causes (docs/repair.md): make the class's images again under each remedy, with"
                    " the same seeds, retrain the pixel classifier with the other classes' images unchanged, and"
                    " report the gain with its interval paired over the class's real test images. Writes"
                    " STORE/repair/recipe.toml (the experiment with each winning override; synthdiv run makes it at"
                    " full size) and STORE/repair/report.json. Resumable: run it again after a stop. Needs the"
                    " experiment's [train] runs \"synthetic\" and \"real\" finished and a real test split.")
    p.add_argument("store", help="the store folder")
    p.add_argument("--experiment", metavar="NAME", help="the experiment to repair (default: the store's only one)")
    p.add_argument("--classes", metavar="A,B", help="repair these classes, failing or not")
    p.add_argument("--top", type=int, metavar="K", help="repair the K classes with the largest gaps")
    p.add_argument("--budget", type=int, metavar="IMAGES", help="make at most this many images in all (remedies"
                   " past it are left out, and the plan says which)")
    p.add_argument("--remedies", metavar="A,B", help="try only these remedies (gloss, lemma, negative-sense,"
                   " guidance-up, judge-filter, guidance-down, contexts, more-seeds, or yours)")
    p.add_argument("--plan", action="store_true", help="print the plan and its estimate, and stop")
    _talk_arguments(p)
    p.set_defaults(func=_cmd_repair)

    p = sub.add_parser("open", help="open the workbench on a store: a live dashboard, re-attaching to its workers",
                       description="Open the workbench on a store: a live dashboard (progress per class, the four "
                       "causes, diversity, accuracy, similarity heatmaps, CLIP geometry), the gallery (v: enter shows one image large beside "
                       "its nearest real images, g the class across its templates, m switches how pictures are drawn), prompt "
                       "iteration for a class (i), export (e), setup (n), the store's experiments compared (C). g starts or resumes the workers, p pauses, "
                       "c cancels; on quit you choose whether running workers go on without the UI. ? lists every key.")
    p.add_argument("store", metavar="DIR", help="store folder")
    p.add_argument("--experiment", metavar="NAME", help="the experiment the gallery, iteration and repair (R) open"
                   " on (default: the store's first)")
    p.add_argument("--images", choices=("auto", "kitty", "sixel", "halfcell"), default="auto",
                   help="how the gallery draws images: auto (default) asks the terminal at start-up and uses the Kitty "
                   "graphics protocol or Sixel where it answers that it supports them, else half-cell blocks (tmux, "
                   "screen, plain SSH terminals); kitty, sixel or halfcell force one. m in the gallery switches")
    p.set_defaults(func=_cmd_open)

    p = sub.add_parser("classes", help="list the class names of a class set")
    p.add_argument("set", nargs="?", default="imagenet", help="imagenet (default), imagenet-raw (WordNet's first lemmas: crane twice), imagenet-r, imagenet-a, mini-imagenet (ImageNet subsets), digits, or a text file (one name a line; a definition after a tab)")
    p.add_argument("--search", metavar="TEXT", help="only names containing TEXT (any case)")
    p.set_defaults(func=_cmd_classes)

    from workbench.mini_cli import add_parser as add_mini

    add_mini(sub)

    p = sub.add_parser("templates", help="list the built-in prompt templates (open_clip's 80 ImageNet templates)")
    p.set_defaults(func=_cmd_templates)

    p = sub.add_parser("schema", help="the JSON Schema of an experiment file, for editors",
                       description="Print the JSON Schema (draft 2020-12) of an experiment TOML file: every key with"
                       " its type, default, range or choices and its doc (docs/config.md), generated from the"
                       " same declarations synthdiv checks a file with. Editors check and complete a file with it:"
                       " for Taplo / Even Better TOML, put '#:schema ./synthdiv.schema.json' on the file's first"
                       " line. What needs the machine (a model folder, a device, a class name) is checked by"
                       " synthdiv run when it reads the file.")
    p.add_argument("--out", metavar="FILE", help="write it to FILE instead of standard output")
    p.set_defaults(func=_cmd_schema)

    from workbench.completion import SHELLS

    p = sub.add_parser("completion", help="print the shell completion script (bash, zsh, fish)",
                       description="Print a completion script for your shell: every command, its options and their"
                       " choices. bash: add 'eval \"$(synthdiv completion bash)\"' to ~/.bashrc; zsh: the same with zsh"
                       " in ~/.zshrc; fish: synthdiv completion fish > ~/.config/fish/completions/synthdiv.fish")
    p.add_argument("shell", choices=SHELLS, help="the shell")
    p.set_defaults(func=_cmd_completion)
    return parser


def _output(args: argparse.Namespace):
    """The console a command prints to: silent with ``-q`` (errors still reach stderr)."""
    return text_console(quiet=bool(getattr(args, "quiet", False)))


def _quiet_stdout() -> None:
    """Point standard output at /dev/null, so the interpreter's last flush into a closed pipe
    (``synthdiv classes | head``) raises nothing either."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _error(message: str, fix: str, as_json: bool) -> int:
    """Print an error the user can fix (one line on stderr, or ``{"error", "fix"}`` on stdout
    under ``--json``); exit status 2."""
    if as_json:
        print(json.dumps({"error": message, "fix": fix}))
    else:
        print(f"synthdiv: error: {message}" + (f": {fix}" if fix else ""), file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            parser.print_help()  # no terminal to draw the workbench in
            return 0
        args.func = _cmd_workbench
    if getattr(args, "verbose", False):
        import os

        os.environ["SYNTHDIV_VERBOSE"] = "1"  # the workers inherit it: the libraries' own messages stay on
    as_json = bool(getattr(args, "json", False))
    try:
        code = args.func(args)
        sys.stdout.flush()  # inside the try: a reader that has gone raises here, not at exit
        return code
    except BrokenPipeError:  # before OSError, of which it is one: `synthdiv classes | head` ends quietly
        _quiet_stdout()
        return 0
    except SynthdivError as exc:
        if getattr(args, "verbose", False):
            import traceback

            traceback.print_exc()
        return _error(exc.problem, exc.fix, as_json)
    except OSError as exc:
        from store.core import as_disk_full

        full = as_disk_full(exc, Path.cwd())
        if full is None:
            raise
        return _error(full.problem, full.fix, as_json)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
