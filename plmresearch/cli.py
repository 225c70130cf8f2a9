"""The ``plm`` command.

    plm datasets list              the dataset catalogue
    plm datasets show NAME         a dataset's card and codebook
    plm datasets fetch NAME        download (or take from the mirror) and verify a dataset's files
    plm reproduce [STUDY ...]      run study specs, print the scoreboard, write it under reports/
    plm pilot init [PATH]          write a commented pilot config to fill in
    plm pilot report CONFIG        analyse a pilot: HTML report + CSV tables in a new folder
    plm pilot demo [FOLDER]        simulate a district pilot and report on it

Every failure is printed as one line on stderr, ``plm: error: ...``, with exit status 2, never
as a traceback: a usage mistake, an error the user can fix (:class:`PlmError`), a file-system
error, and (as ``plm: internal error: ...``, to be reported) anything else. ``PLM_DEBUG=1``
re-raises the last kind with its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import textwrap
from collections.abc import Sequence

from plmresearch import __version__
from plmresearch.errors import PlmError


def _datasets_list(args: argparse.Namespace) -> int:
    from plmresearch.data import list_datasets
    from plmresearch.report.terminal import table, terminal_width

    cat = list_datasets()
    rows = [[r.name, f"{r.rows:,}", r.unit, r.title] for r in cat.itertuples()]
    print(table(rows, ["name", "rows", "unit", "title"], terminal_width(), align="<><<", wrap=[2, 3]))
    print(f"\n{len(cat)} datasets. `plm datasets show NAME` prints a card and its codebook.")
    return 0


def _datasets_show(args: argparse.Namespace) -> int:
    from plmresearch.data import dataset_card
    from plmresearch.report.terminal import wrap_text

    print(wrap_text(dataset_card(args.name).to_text()))
    return 0


def _datasets_fetch(args: argparse.Namespace) -> int:
    from plmresearch.data import dataset_card, fetch_dataset, load_dataset

    card = dataset_card(args.name)
    paths = fetch_dataset(args.name)
    for p in paths:
        print(f"verified {p}")
    if not paths:
        print(f"{args.name}: bundled with {card.source_label}; nothing to download.")
    df = load_dataset(args.name)
    print(f"{args.name}: {len(df):,} rows x {df.shape[1]} columns loaded.")
    return 0


def _counts_by_study(items: list[str]) -> list[tuple[str, int]]:
    """(study, count) pairs of ``'study: ...'`` lines, in first-seen order."""
    counts: dict[str, int] = {}
    for item in items:
        study = item.split(":", 1)[0]
        counts[study] = counts.get(study, 0) + 1
    return list(counts.items())


def _reproduce(args: argparse.Namespace) -> int:
    from plmresearch.progress import enabled, progress_bar
    from plmresearch.report.terminal import scoreboard_text, terminal_width
    from plmresearch.reproduce import Scoreboard, list_studies, load_study, run_studies

    if args.list:
        print("\n".join(list_studies()))
        return 0
    names = args.studies or list_studies()
    for name in names:  # every spec is checked before any study runs
        load_study(name)
    show_bar = enabled(not args.quiet)
    # no bar (a log file, CI): one plain line per study on stderr instead, unless --quiet
    log = None if (show_bar or args.quiet) else (lambda m: print(m, file=sys.stderr, flush=True))
    results = []
    with progress_bar(total=len(names), desc="reproducing", unit="study", progress=show_bar) as bar:
        for name in names:
            bar.set_postfix_str(name)
            results += run_studies([name], fast=args.fast, progress=log).results
            bar.update(1)
    board = Scoreboard(results)
    print(scoreboard_text(board.table, titles={r.study.name: r.study.title for r in results}))
    md, html = board.write(args.reports_dir)
    print("\nScoreboard written to:\n  " + str(md) + "\n  " + str(html))
    unverified = board.unverified_misses()
    if unverified:
        print("\n" + textwrap.fill(f"{len(unverified)} miss(es) against UNVERIFIED published numbers (explained "
                                   "in the specs; not failing the run because the published value itself is "
                                   "unconfirmed):", terminal_width()))
        for u in unverified:
            print(f"  - {u}")
    known = board.known_misses()
    if known:
        print(f"\n{len(known)} known miss(es), each explained in its spec (known_miss) and not failing the run; "
              f"by study: " + ", ".join(f"{s} {n}" for s, n in _counts_by_study(known)))
    failures = board.failures()
    if failures:
        print(f"\n{len(failures)} miss(es):", file=sys.stderr)
        for f in failures:
            print(f"  - {f}", file=sys.stderr)
        return 1
    n = int((board.table.within_tolerance == "yes").sum())
    unexplained = "no unexplained miss" if known else "no miss"
    print(f"{n} published quantities reproduced within tolerance; {unexplained} against an established number.")
    return 0


def _pilot_init(args: argparse.Namespace) -> int:
    from plmresearch.pilot import write_template

    path = write_template(args.path)
    print(f"Wrote {path}. Fill in the (required) keys, then run: plm pilot report {path}")
    return 0


def _progress(args: argparse.Namespace):
    """Per-section progress lines on stderr (none with --quiet)."""
    if getattr(args, "quiet", False):
        return None
    return lambda line: print(f"plm pilot: {line}", file=sys.stderr, flush=True)


def _print_report(target, analysis) -> None:
    from plmresearch.results import level_label

    m = analysis.main_estimate
    print(f"Report written to {target / 'report.html'} (with {len(analysis.tables())} CSV tables).")
    print(f"Main effect: {m.estimate:.2f} points, {level_label(m.ci_level)} CI [{m.ci_low:.2f}, {m.ci_high:.2f}]; "
          f"g = {m.effect_size:.2f}.")


def _pilot_report(args: argparse.Namespace) -> int:
    from plmresearch.pilot import load_config
    from plmresearch.pilot.report import write_report

    target, analysis = write_report(load_config(args.config), output=args.output, fast=args.fast,
                                    progress=_progress(args))
    _print_report(target, analysis)
    return 0


def _pilot_demo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from plmresearch.pilot import load_config, write_demo
    from plmresearch.pilot.report import write_report
    from plmresearch.results import level_label

    data_path, config_path, district = write_demo(Path(args.folder), random_seed=args.seed, design=args.design)
    print(f"Simulated district ({district.design}, true effect {district.true_effect:.2f} points = "
          f"{district.true_effect_sd:.2f} SD): {data_path}, config {config_path}")
    target, analysis = write_report(load_config(config_path), fast=args.fast, progress=_progress(args))
    _print_report(target, analysis)
    m = analysis.main_estimate
    covered = m.ci_low <= district.true_effect <= m.ci_high
    print(f"The true effect {district.true_effect:.2f} is {'inside' if covered else 'OUTSIDE'} the "
          f"{level_label(m.ci_level)} CI.")
    return 0


class _UsageError(Exception):
    """A command-line usage mistake (unknown command, missing or malformed argument)."""

    def __init__(self, message: str, prog: str):
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is raised (one line, exit 2 in :func:`main`) instead of printing
    the usage block and exiting; ``--help`` still prints the full usage."""

    def error(self, message: str):  # type: ignore[override]
        raise _UsageError(message, self.prog)


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def _examples(*lines: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _sub(subparsers, name: str, help: str, *examples: str) -> argparse.ArgumentParser:
    return subparsers.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".",
                                 epilog=_examples(*examples) if examples else None,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="plm", description="plmresearch: personalized and mastery-learning research toolkit",
        epilog=_examples("plm datasets list", "plm datasets show star", "plm reproduce --fast",
                         "plm reproduce star_krueger1999", "plm pilot demo --fast"),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"plmresearch {__version__}",
                        help="print the plmresearch version and exit (e.g. plm --version)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ds = _sub(sub, "datasets", "list, describe and fetch the public datasets",
              "plm datasets list", "plm datasets show hsb", "plm datasets fetch assistments_2009")
    ds_sub = ds.add_subparsers(dest="action", required=True, metavar="ACTION")
    _sub(ds_sub, "list", "print the dataset catalogue (name, rows, unit, title)",
         "plm datasets list").set_defaults(func=_datasets_list)
    show = _sub(ds_sub, "show", "print a dataset's card and codebook", "plm datasets show star")
    show.add_argument("name", metavar="NAME", help="dataset name from `plm datasets list`, e.g. star")
    show.set_defaults(func=_datasets_show)
    fetch = _sub(ds_sub, "fetch", "download (or take from PLMRESEARCH_DATA_DIR) and verify a dataset's files",
                 "plm datasets fetch assistments_2009")
    fetch.add_argument("name", metavar="NAME", help="dataset name from `plm datasets list`, e.g. assistments_2009")
    fetch.set_defaults(func=_datasets_fetch)

    rep = _sub(sub, "reproduce", "run the study specs and print the scoreboard, published numbers next to ours",
               "plm reproduce --fast", "plm reproduce star_krueger1999 eight_schools_rubin1981",
               "plm reproduce --list", "plm reproduce --fast --quiet --reports-dir out/")
    rep.add_argument("studies", nargs="*", metavar="STUDY",
                     help="study names from `plm reproduce --list` (default: all), e.g. star_krueger1999")
    rep.add_argument("--fast", action="store_true", help="fewer posterior draws and restarts (for CI and a first look)")
    rep.add_argument("--reports-dir", default="reports", metavar="DIR",
                     help="where to write the Markdown and HTML scoreboard (default: reports)")
    rep.add_argument("--list", action="store_true", help="list the available studies and exit")
    rep.add_argument("--quiet", action="store_true", help="no progress bar")
    rep.set_defaults(func=_reproduce)

    pilot = _sub(sub, "pilot", "evaluate a district pilot from a student file",
                 "plm pilot init my_pilot.yaml", "plm pilot report my_pilot.yaml", "plm pilot demo --fast")
    pilot_sub = pilot.add_subparsers(dest="action", required=True, metavar="ACTION")
    init = _sub(pilot_sub, "init", "write a commented config template to fill in", "plm pilot init my_pilot.yaml")
    init.add_argument("path", nargs="?", default="pilot.yaml", metavar="PATH",
                      help="where to write the template (default: pilot.yaml; an existing file is not overwritten)")
    init.set_defaults(func=_pilot_init)
    report = _sub(pilot_sub, "report", "write the HTML report and CSV tables to a new folder",
                  "plm pilot report my_pilot.yaml", "plm pilot report my_pilot.yaml --output reports/pilot --fast")
    report.add_argument("config", metavar="CONFIG", help="the filled-in pilot config (YAML), e.g. my_pilot.yaml")
    report.add_argument("--output", default=None, metavar="DIR",
                        help="output folder (default: output.folder of the config)")
    report.add_argument("--fast", action="store_true",
                        help="kept for scripts: the Bayesian section is exact and samples nothing, so it changes nothing")
    report.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    report.set_defaults(func=_pilot_report)
    demo = _sub(pilot_sub, "demo", "simulate a district with a known effect and report on it",
                "plm pilot demo", "plm pilot demo demo_folder --design multisite --seed 7 --fast")
    demo.add_argument("folder", nargs="?", default="pilot_demo", metavar="FOLDER",
                      help="folder for the simulated data, config and report (default: pilot_demo)")
    demo.add_argument("--seed", type=int, default=2024, help="random seed of the simulated district (default: 2024)")
    demo.add_argument("--design", default="multisite",
                      choices=["multisite", "cluster_rct", "individual_rct", "comparison_schools"],
                      help="default: multisite (students assigned within 6 schools; true effect 0.2 SD); "
                           "cluster_rct: 6 whole schools assigned")
    demo.add_argument("--fast", action="store_true",
                        help="kept for scripts: the Bayesian section is exact and samples nothing, so it changes nothing")
    demo.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    demo.set_defaults(func=_pilot_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except _UsageError as err:
        print(f"plm: error: {_one_line(err)} (see `{err.prog} --help`)", file=sys.stderr)
    except PlmError as err:
        print(f"plm: error: {_one_line(err)}", file=sys.stderr)
    except OSError as err:  # a folder that cannot be created, a full disk, a permission refused
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        print(f"plm: error: {_one_line(err.strerror or err)}{where}.", file=sys.stderr)
    except Exception as err:  # noqa: BLE001 - a bug: still one line, and the way to see the traceback
        if os.environ.get("PLM_DEBUG"):
            raise
        print(f"plm: internal error: {type(err).__name__}: {_one_line(err)} (a bug; please report it, "
              "with the traceback from PLM_DEBUG=1)", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
