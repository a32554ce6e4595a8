"""``tco probe`` and ``tco serve-local``: registered on the ``tco`` app by :mod:`tco.cli`."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from costmodel import paths
from costmodel.io.probe_run import read_manifest, read_summary
from costmodel.text import MISSING, percent, yes_no
from tco import endpoint_options as opt
from tco.console import err, out, protect  # every line printed goes through the redaction

if TYPE_CHECKING:
    from probes.finalize import Finalized

SLO_KEY = re.compile(r"^(ttft|ttft_content|itl|tpot|e2e)_p(50|90|95|99)$")


class BadOption(ValueError):
    """A command-line value that cannot be used; the message names option and value."""


def stdout_console() -> Console:
    """Results on stdout: room for the tables when piped, text from files printed as text."""
    return out


def endpoint_of(endpoint_file: Path | None, base_url: str | None, model: str | None, **fields):
    """The endpoint a measuring command talks to: the YAML file (``--base-url`` and ``--model``
    override it), else one built from the options (``fields``: api_style, api_key_env, ...)."""
    from costmodel.io.files import read_yaml, validate
    from costmodel.model.endpoint import Endpoint

    protect(urls=[base_url] if base_url else [])  # a password in --base-url never reaches the terminal
    if endpoint_file is not None:
        ep = validate(Endpoint, read_yaml(endpoint_file), str(endpoint_file))
        updates = {k: v for k, v in {"base_url": base_url, "model": model}.items() if v}
        ep = ep.model_copy(update=updates) if updates else ep
    elif not base_url or not model:
        raise BadOption("give an endpoint file, or --base-url and --model")
    else:
        ep = validate(Endpoint, {"base_url": base_url, "model": model, **fields}, "command line")
    protect([ep.api_key()], [ep.base_url])
    return ep


def recover(rebuild: Callable[[Path], Finalized], run_dir: Path, fail: Callable[[Exception], None]) -> None:
    """``--finalize``: rebuild a run folder (probe or quality) and say what was rebuilt; a folder that
    is not a run is one line, exit 2."""
    from costmodel.io.probe_run import ProbeRunError

    try:
        err.print(rebuild(run_dir).said())
    except ProbeRunError as e:
        fail(e)


def price_pair(price_in: float | None, price_out: float | None) -> tuple[float, float] | None:
    """``--price-in`` and ``--price-out``, which come together or not at all."""
    if (price_in is None) != (price_out is None):
        raise BadOption("give --price-in and --price-out together")
    return (price_in, price_out) if price_in is not None and price_out is not None else None


def exit_if_stopped(manifest, run_dir: Path) -> None:
    """Exit as a stopped run should: 128 + the signal (130, 143), 1 after a failed write or a bug."""
    if manifest.stopped_by in ("SIGINT", "SIGTERM"):  # the shell's convention
        raise typer.Exit(130 if manifest.stopped_by == "SIGINT" else 143)
    if manifest.stopped_by == "write-error":
        err.print(Text.assemble(("error: ", "bold red"), f"writing {run_dir} failed; the run stopped"))
        raise typer.Exit(1)
    if manifest.stopped_by == "internal-error":
        err.print(Text.assemble(("error: ", "bold red"), f"{manifest.failure}; the run stopped (please report it)"))
        raise typer.Exit(1)


def parse_levels(text: str | None, option: str, integer: bool) -> tuple[float, ...]:
    if not text:
        return ()
    try:
        values = tuple(int(v) if integer else float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise BadOption(
            f"{option} = {text!r}: expected comma-separated {'integers' if integer else 'numbers'}"
        ) from None
    if not values or any(v <= 0 for v in values):
        raise BadOption(f"{option} = {text!r}: levels must be positive")
    return values


def parse_slo(text: str | None) -> dict[str, float]:
    """``ttft_p95=500ms,tpot_p95=50ms`` -> ``{"ttft_p95": 500.0, "tpot_p95": 50.0}`` (ms; ``s`` accepted)."""
    if not text:
        return {}
    out = {}
    for part in text.split(","):
        key, sep, value = part.strip().partition("=")
        m = re.fullmatch(r"([0-9.]+)\s*(ms|s)?", value.strip())
        if not sep or not SLO_KEY.match(key) or not m:
            raise BadOption(
                f"--slo = {text!r}: expected e.g. ttft_p95=500ms,tpot_p95=50ms "
                f"(metrics ttft, ttft_content, itl, tpot, e2e; percentiles 50, 90, 95, 99)"
            )
        out[key] = float(m.group(1)) * (1000.0 if m.group(2) == "s" else 1.0)
    return out


def print_summary(run_dir: Path, console: Console) -> None:
    """The per-level table of a finished run, read back through the probe-run format."""
    manifest = read_manifest(run_dir)
    summary = read_summary(run_dir)
    t = Table(title=f"{manifest.run_id} ({manifest.status})", title_justify="left")
    cols = [
        ("level", "level", "{}"),
        ("ok/all", None, None),
        ("req/s", "requests_per_s", "{:.2f}"),
        ("out tok/s", "output_tokens_per_s", "{:,.0f}"),
        ("TTFT p50", "ttft_p50_ms", "{:,.1f}"),
        ("TTFT p95", "ttft_p95_ms", "{:,.1f}"),
        ("ITL p50", "itl_p50_ms", "{:,.2f}"),
        ("TPOT p95", "tpot_p95_ms", "{:,.2f}"),
        ("e2e p95", "e2e_p95_ms", "{:,.0f}"),
        ("goodput", "goodput_rps", "{:.2f}"),
        ("valid", "valid", None),
        ("SLO", "slo_met", None),
    ]
    if any(r.usd_per_m_output_tokens is not None for r in summary):
        cols.append(("$/1M out", "usd_per_m_output_tokens", "${:,.3f}"))
    if any(r.usd_per_m_tokens is not None for r in summary):
        cols.append(("$/1M tok", "usd_per_m_tokens", "${:,.3f}"))
    for name, *_ in cols:
        t.add_column(name, justify="left" if name == "level" else "right")
    for row in summary:
        cells = []
        for _name, col, fmt in cols:
            v = None if col is None else getattr(row, col)
            if col is None:
                cells.append(f"{row.ok}/{row.requests}")
            elif isinstance(v, bool) or col == "slo_met":
                cells.append(yes_no(v))
            else:
                cells.append(MISSING if v is None or fmt is None else fmt.format(v))
        t.add_row(*cells)
    console.print(t)
    for row in summary:
        if row.errors:
            console.print(
                Text(f"{row.level}: errors {row.errors_by_kind}, throttle rate {percent(row.throttle_rate, 1)}")
            )
        if not row.valid:
            console.print(Text.assemble((f"{row.level} invalid: ", "yellow"), row.invalid_reason or ""))
    for level in manifest.levels:  # several workers: each one's share, sent and its own lag
        if level.workers:
            shares = ", ".join(
                f"{w.worker}: {w.issued}/{w.planned}"
                + ("" if w.loop_lag_p95_ms is None else f" (lag p95 {w.loop_lag_p95_ms:.1f} ms)")
                for w in level.workers
            )
            console.print(Text(f"{level.name} workers, sent/planned: {shares}"))
    for host in manifest.hosts:
        after = "lost" if host.offset_after_ms is None else f"{host.offset_after_ms:+.3f} ms after"
        console.print(
            Text(
                f"host {host.host} ({host.node[:12]}): clock offset {host.offset_ms:+.3f} ms "
                f"(within {host.offset_error_ms:.3f}), {after}"
            )
        )
    if manifest.status == "degraded":
        died = [str(w.worker) for w in manifest.workers if w.status == "died"]
        console.print(
            Text.assemble(
                ("degraded: ", "yellow"),
                f"worker {', '.join(died)} died; the run stopped after that level and kept every record written",
            )
        )
    if manifest.slo_search:
        search = manifest.slo_search
        if search.best is not None:
            console.print(Text(f"highest level meeting the SLO: {search.best:g}"))
        else:  # every level tried missed a bound, or was voided (the summary says why, level by level)
            failing = "" if search.first_failing is None else f" (lowest tried: {search.first_failing:g})"
            console.print(Text(f"no level met the SLO{failing}: see slo_met and invalid_reason in summary.csv"))
    console.print(Text(f"results: {run_dir}"))


def register(app: typer.Typer, fail) -> None:
    """Add the probe commands to the ``tco`` app; ``fail(exc)`` prints and exits 2."""

    @app.command("probe")
    def probe_cmd(
        endpoint_file: opt.EndpointFile = None,
        base_url: opt.BaseUrl = None,
        model: opt.Model = None,
        api_style: opt.ApiStyle = "chat",
        server: Annotated[str, typer.Option(help="vllm (exact output lengths), openai or other.")] = "other",
        api_key_env: opt.ApiKeyEnv = None,
        concurrency: Annotated[str | None, typer.Option(help="Fixed-concurrency levels, e.g. 1,4,16.")] = None,
        rate: Annotated[str | None, typer.Option(help="Open-loop request rates per second, e.g. 2,8.")] = None,
        requests: Annotated[int, typer.Option(min=1, help="Measured requests per level.")] = 50,
        duration: Annotated[float, typer.Option(min=0.1, help="Seconds per level at most.")] = 300.0,
        warmup: Annotated[
            int | None,
            typer.Option(
                min=0,
                help="Warm-up requests per level, excluded from the "
                "summary (default: one per stream, or 1 s of arrivals).",
            ),
        ] = None,
        input_tokens: Annotated[int, typer.Option(min=1, help="Target prompt tokens (synthetic prompts).")] = 256,
        output_tokens: Annotated[int, typer.Option(min=1, help="Output tokens asked for per request.")] = 64,
        dataset: Annotated[Path | None, typer.Option(help="JSONL prompts instead of synthetic ones.")] = None,
        tokenizer: Annotated[
            Path | None, typer.Option(help="tokenizer.json to count tokens when the server reports no usage.")
        ] = None,
        burstiness: Annotated[float, typer.Option(min=0.01, help="Gamma shape of arrival gaps; 1 = Poisson.")] = 1.0,
        max_concurrency: Annotated[int | None, typer.Option(min=1, help="Cap on in-flight requests (rates).")] = None,
        slo: Annotated[
            str | None, typer.Option(help="e.g. ttft_p95=500ms,tpot_p95=50ms; reports the highest level meeting it.")
        ] = None,
        search: Annotated[
            bool, typer.Option(help="With --slo: double the load until the SLO breaks, then bisect.")
        ] = False,
        retries: Annotated[int, typer.Option(min=0, help="Retries after HTTP 429, honouring Retry-After.")] = 0,
        max_cost_usd: Annotated[
            float | None,
            typer.Option(
                min=0,
                max=1e6,
                help="Budget: a request is sent only if its worst case (prompt and max output tokens at the price) "
                "still fits, so the bill stays under this. Needs a price.",
            ),
        ] = None,
        price_in: opt.PriceIn = None,
        price_out: opt.PriceOut = None,
        timeout: opt.Timeout = 120.0,
        seed: Annotated[int, typer.Option(min=0, max=2**32 - 1, help="Seed for prompts and arrivals.")] = 0,
        gpu: Annotated[str | None, typer.Option(help="GPU id behind a self-hosted endpoint (for $/1M tokens).")] = None,
        gpu_count: Annotated[int, typer.Option(min=1, help="GPUs behind the endpoint.")] = 1,
        usd_per_gpu_hour: Annotated[
            float | None, typer.Option(min=0, help="GPU-hour price instead of the catalog's.")
        ] = None,
        workers: Annotated[
            int | None,
            typer.Option(
                min=1,
                max=64,
                help="Probe processes on this host, each sending every N-th request of one schedule (default: one "
                "while every level is within what one process holds, 256 streams or 12,000 token events a second; "
                "else enough for the highest level, at most the cores less one).",
            ),
        ] = None,
        ray_address: Annotated[
            str | None,
            typer.Option(
                help="Probe from every node of this Ray cluster ('auto': the one this host is in): one agent per "
                "node, each with --workers processes (default 1 there), one schedule and one clock across them. "
                "Needs the optional Ray extra: pip install -e '.\\[ray]' (make ray).",
            ),
        ] = None,
        out: Annotated[Path | None, typer.Option(help="Directory for run folders (default: data/probes).")] = None,
        finalize: Annotated[
            Path | None,
            typer.Option(
                help="Rebuild this run folder's summary and manifest from its requests.jsonl (after a crash, "
                "or to update an older format) and print it; sends nothing."
            ),
        ] = None,
    ) -> None:
        """Measure an OpenAI-compatible endpoint under load: TTFT, ITL, TPOT, e2e, throughput, errors."""
        if finalize is not None:
            from probes.finalize import finalize as rebuild

            recover(rebuild, finalize, fail)
            print_summary(finalize, stdout_console())
            return
        from costmodel.io.files import InputError
        from costmodel.model.endpoint import GpuRef
        from probes.errors import ProbeWriteError
        from probes.load import LoadPlan
        from probes.run import probe
        from probes.workers import EVENTS_PER_PROCESS, STREAMS_PER_PROCESS, default_workers

        try:
            hardware = (
                {"hardware": GpuRef(gpu=gpu, count=gpu_count, usd_per_gpu_hour=usd_per_gpu_hour).model_dump()}
                if gpu
                else {}
            )
            ep = endpoint_of(
                endpoint_file,
                base_url,
                model,
                api_style=api_style,
                server=server,
                api_key_env=api_key_env,
                **hardware,
            )
            levels_c = parse_levels(concurrency, "--concurrency", True)
            levels_r = parse_levels(rate, "--rate", False)
            if levels_c and levels_r:
                raise BadOption("give --concurrency or --rate, not both")
            slo_ms = parse_slo(slo)
            if search and not slo_ms:
                raise BadOption("--search needs --slo")
            mode = "rate" if levels_r else "concurrency"
            levels = levels_r or levels_c or ((1.0,) if search else (1, 4, 16))
            plan = LoadPlan(
                mode=mode,
                levels=tuple(levels),
                requests=requests,
                duration_s=duration,
                warmup=warmup,
                burstiness=burstiness,
                max_concurrency=max_concurrency,
                retries=retries,
                seed=seed,
                slo=slo_ms,
                search=search,
            )
            for f, what in ((dataset, "--dataset"), (tokenizer, "--tokenizer")):
                if f is not None and not f.is_file():
                    raise BadOption(f"{what} = {str(f)!r}: file not found")
            given = price_pair(price_in, price_out)
            processes = workers or (1 if ray_address else default_workers(plan, output_tokens))
            if ray_address:
                err.print(f"probe processes: {processes} on each node of the Ray cluster at {ray_address}")
            elif processes > 1:
                err.print(
                    f"probe processes: {processes}"
                    + (
                        ""
                        if workers
                        else f" (default for this load: one process holds {STREAMS_PER_PROCESS} streams, "
                        f"{EVENTS_PER_PROCESS:,.0f} tokens/s)"
                    )
                )
            run_dir = probe(
                ep,
                plan,
                out_dir=out or paths.probes_dir(),
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                dataset=dataset,
                tokenizer=tokenizer,
                max_cost_usd=max_cost_usd,
                timeout_s=timeout,
                prices_given=given,
                console=err,
                workers=processes,
                ray_address=ray_address,
            )
        except ProbeWriteError as e:
            err.print(Text.assemble(("error: ", "bold red"), str(e)), soft_wrap=True)
            raise typer.Exit(1) from None
        except (InputError, BadOption, ValueError, RuntimeError, LookupError) as e:
            fail(e)
        print_summary(run_dir, stdout_console())
        exit_if_stopped(read_manifest(run_dir), run_dir)
        summary = read_summary(run_dir)
        sent = sum(r.requests for r in summary)
        if sent and not sum(r.ok for r in summary):
            kinds: dict[str, int] = {}
            for r in summary:
                for kind, n in r.errors_by_kind.items():
                    kinds[kind] = kinds.get(kind, 0) + n
            err.print(Text.assemble(("error: ", "bold red"), f"every request failed ({kinds}); see {run_dir}"))
            raise typer.Exit(1)

    @app.command("serve-local")
    def serve_local_cmd(
        model: Annotated[
            str | None,
            typer.Option(
                help="Model path or name for vLLM; default: build a tiny random-weight model locally (no download)."
            ),
        ] = None,
        port: Annotated[int, typer.Option(help="Port to serve on.")] = 8000,
        python: Annotated[
            Path | None,
            typer.Option(help="Python of the environment with vLLM (default: .venv-vllm, made by 'make vllm')."),
        ] = None,
        extra: Annotated[list[str] | None, typer.Option(help="Extra argument for vLLM's server. Repeatable.")] = None,
    ) -> None:
        """Start a local vLLM OpenAI-compatible server and wait until /health answers."""
        from probes.local import LocalServerError, serve_foreground

        try:
            code = serve_foreground(model=model, port=port, python=python, extra=extra or [])
        except LocalServerError as e:
            fail(e)
        raise typer.Exit(code)
