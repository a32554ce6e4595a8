"""``tco quality``: score an endpoint's accuracy on bundled suites or a golden set."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from costmodel import paths
from costmodel.text import MISSING, percent, usd_rate
from tco import endpoint_options as opt
from tco.console import err, item_progress


def print_quality(run_dir: Path, console: Console) -> None:
    """The summary of a quality run: accuracy per suite and class with its interval."""
    from costmodel.io.quality import read_manifest, read_summary

    manifest, rows = read_manifest(run_dir), read_summary(run_dir)
    t = Table(title=f"{manifest.run_id} ({manifest.status})", title_justify="left")
    for col in (
        "suite",
        "class",
        "correct/n",
        "accuracy",
        "95 % interval",
        "errors",
        "hallucination",
        "valid JSON",
        "fields right",
        "cost",
    ):
        t.add_column(col, justify="left" if col in ("suite", "class") else "right")
    for r in rows:
        t.add_row(
            r.suite,
            r.item_class,
            f"{r.correct}/{r.n}",
            percent(r.accuracy, 1),
            MISSING if r.ci_low is None else f"{percent(r.ci_low, 1)}-{percent(r.ci_high, 1)}",
            str(r.errors),
            percent(r.hallucination_rate, 0),
            percent(r.schema_valid_rate, 0),
            percent(r.field_accuracy, 0),
            usd_rate(r.cost_usd, 4),
        )
    console.print(t if rows else Text("no item finished"))
    console.print(Text(f"results: {run_dir}"))


def register(app: typer.Typer, fail) -> None:
    @app.command("quality")
    def quality_cmd(
        endpoint_file: opt.EndpointFile = None,
        base_url: opt.BaseUrl = None,
        model: opt.Model = None,
        api_style: opt.ApiStyle = "chat",
        api_key_env: opt.ApiKeyEnv = None,
        suite: Annotated[
            list[str] | None,
            typer.Option(help="Bundled suite: grounded-qa, reasoning, extraction (repeatable; default: all three)."),
        ] = None,
        dataset: Annotated[Path | None, typer.Option(help="Your golden set (JSONL) instead of the suites.")] = None,
        limit: Annotated[int, typer.Option(min=1, max=100_000, help="Items per suite (or of the dataset).")] = 60,
        concurrency: Annotated[int, typer.Option(min=1, max=512, help="Items in flight at once.")] = 4,
        max_cost_usd: opt.MaxCostUsd = None,
        price_in: opt.PriceIn = None,
        price_out: opt.PriceOut = None,
        seed: Annotated[int, typer.Option(min=0, max=2**32 - 1, help="Seed of the suites and the item order.")] = 0,
        timeout: opt.ItemTimeout = 120.0,
        out: Annotated[Path | None, typer.Option(help="Directory for run folders (default: data/quality).")] = None,
        write_items: Annotated[
            Path | None, typer.Option(help="Write the items as a golden-set JSONL here and send nothing.")
        ] = None,
        finalize: Annotated[
            Path | None,
            typer.Option(
                help="Rebuild this run folder's summary and manifest from its items.jsonl (after a kill or a "
                "full disk) and print it; sends nothing."
            ),
        ] = None,
    ) -> None:
        """Score an OpenAI-compatible endpoint: accuracy per suite and request class with a 95 % Wilson
        interval, hallucination, schema-valid and field-accuracy rates, tokens and cost; every item written
        as it ends."""
        if finalize is not None:
            from costmodel.io.quality import read_summary as read_quality_summary
            from probes.finalize import finalize_quality
            from probes.quality import accuracy_text
            from tco.probe_cli import recover

            recover(finalize_quality, finalize, fail)
            for line in accuracy_text(read_quality_summary(finalize)):
                err.print(line)
            return
        from costmodel.io.files import InputError
        from costmodel.io.quality import read_manifest, read_summary
        from probes.errors import ProbeWriteError
        from probes.quality import score
        from probes.suites import SUITES, VERSION, generate
        from tco.probe_cli import BadOption, endpoint_of, exit_if_stopped, price_pair, stdout_console

        try:
            if dataset is not None and suite:
                raise BadOption("give --suite or --dataset, not both")
            if dataset is not None:
                from costmodel.io.quality import read_golden_set

                items, digest = read_golden_set(dataset)
                items = items[:limit]
                suites = [{"name": "dataset", "version": digest, "items": len(items)}]
            else:
                names = suite or list(SUITES)
                unknown = [n for n in names if n not in SUITES]
                if unknown:
                    raise BadOption(f"--suite = {unknown[0]!r}: known suites are {', '.join(SUITES)}")
                items = [it for n in names for it in generate(n, limit, seed)]
                suites = [{"name": n, "version": VERSION, "items": limit} for n in names]
            if write_items is not None:
                write_items.write_text(
                    "".join(it.model_dump_json(by_alias=True, exclude_none=True) + "\n" for it in items),
                    encoding="utf-8",
                )
                err.print(f"wrote {len(items)} items to {write_items}")
                return
            ep = endpoint_of(endpoint_file, base_url, model, api_style=api_style, api_key_env=api_key_env)
            prices = price_pair(price_in, price_out)
            with item_progress("quality", len(items), "correct") as on_item:
                run_dir = score(
                    ep,
                    items,
                    suites,
                    out_dir=out or paths.quality_dir(),
                    seed=seed,
                    concurrency=concurrency,
                    max_cost_usd=max_cost_usd,
                    prices=prices,
                    timeout_s=timeout,
                    on_item=on_item,
                )
        except ProbeWriteError as e:
            err.print(Text.assemble(("error: ", "bold red"), str(e)), soft_wrap=True)
            raise typer.Exit(1) from None
        except (InputError, BadOption, ValueError) as e:
            fail(e)
        print_quality(run_dir, stdout_console())
        exit_if_stopped(read_manifest(run_dir), run_dir)
        total = next((r for r in read_summary(run_dir) if r.suite == "all" and r.item_class == "all"), None)
        if total is not None and total.n and total.errors == total.n:
            err.print(Text.assemble(("error: ", "bold red"), f"every item failed; see {run_dir}"))
            raise typer.Exit(1)
