"""``tco classify``: measure a router's classifier on a labelled set (its confusion matrix)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from costmodel import paths
from costmodel.text import count, percent
from tco import endpoint_options as opt
from tco.console import err, item_progress


def print_confusion(run_dir: Path, console: Console) -> None:
    """A classifier run's confusion matrix: true class (rows) against the class it was labelled,
    each cell with its items and its 95 % Wilson interval, and the accuracy with its own."""
    from costmodel.io.classifier_run import confusion_counts, measured_confusion, read_info, read_records
    from costmodel.model.quality import wilson_interval

    info = read_info(run_dir)
    counts = confusion_counts(info, read_records(run_dir))
    t = Table(
        title=f"{info.run_id} ({info.status}): true class against label (share, items; 95 % interval)",
        title_justify="left",
    )
    t.add_column("true class")
    t.add_column("items", justify="right")
    for c in info.classes:
        t.add_column(f"labelled {c}", justify="right")
    for true, row in counts.items():
        n = sum(row.values())
        cells = []
        for k in row.values():
            low, high = wilson_interval(k, n)
            cells.append(f"{percent(k / n, 1)} ({k}; {percent(low, 1)}-{percent(high, 1)})" if n else "–")
        t.add_row(true, count(n), *cells)
    console.print(t)
    try:
        m = measured_confusion(run_dir)
    except ValueError as e:  # a class with no finished item: no matrix to use yet
        console.print(Text(f"no confusion matrix yet: {e}"))
    else:
        console.print(
            Text(
                f"accuracy {percent(m.accuracy, 1)} (95 % interval {percent(m.ci_low, 1)}-{percent(m.ci_high, 1)}); "
                f"answers naming no class count as {info.fallback}"
            )
        )
    console.print(Text(f"results: {run_dir}"))
    console.print(Text(f"use it: classifier_run: {run_dir} (in a router's classifier)"))


def register(app: typer.Typer, fail) -> None:
    @app.command("classify")
    def classify_cmd(
        labelled: Annotated[
            Path, typer.Argument(help="Labelled set (JSONL: id, prompt, class), e.g. data/classifier/sets/*.jsonl.")
        ],
        command: Annotated[
            str | None,
            typer.Option(
                help="A local classifier: started once, reads a JSON line {id, prompt} per request on stdin and "
                'answers a class a line (e.g. "python -m probes.rules_classifier RULES.yaml").'
            ),
        ] = None,
        endpoint_file: opt.EndpointFile = None,
        base_url: opt.BaseUrl = None,
        model: opt.Model = None,
        api_style: opt.ApiStyle = "chat",
        api_key_env: opt.ApiKeyEnv = None,
        instructions: Annotated[
            str | None,
            typer.Option(help="What an endpoint is told before each request [default: name the classes, ask for one]."),
        ] = None,
        fallback: Annotated[
            str | None,
            typer.Option(
                help="Class an answer naming none counts as: the router's default route [default: the first "
                "class in the set]."
            ),
        ] = None,
        limit: Annotated[int | None, typer.Option(min=1, max=1_000_000, help="Items to classify at most.")] = None,
        max_tokens: Annotated[int, typer.Option(min=1, max=4096, help="Tokens an endpoint may answer with.")] = 16,
        concurrency: Annotated[int, typer.Option(min=1, max=512, help="Endpoint requests in flight at once.")] = 4,
        max_cost_usd: opt.MaxCostUsd = None,
        price_in: opt.PriceIn = None,
        price_out: opt.PriceOut = None,
        timeout: opt.ItemTimeout = 60.0,
        out: Annotated[Path | None, typer.Option(help="Directory for run folders (default: data/classifier).")] = None,
        write_items: Annotated[
            Path | None,
            typer.Option(help="Write the requests an endpoint would be sent as a golden set here and send nothing."),
        ] = None,
    ) -> None:
        """Measure a router's classifier on a labelled set: each request is labelled by an endpoint or a
        local command, and the confusion matrix (true class against label) with the accuracy's 95 % Wilson
        interval is written as a run a scenario reads (classifier_run:). Every item is written as it ends."""
        from costmodel.io.classifier_run import read_labelled_set
        from costmodel.io.files import InputError
        from costmodel.io.quality import read_manifest
        from probes.classify import CommandFailed, classify_command, classify_endpoint, instructions_for, quality_items
        from probes.errors import ProbeWriteError
        from tco.probe_cli import BadOption, endpoint_of, exit_if_stopped, price_pair, stdout_console

        try:
            items, digest, classes = read_labelled_set(labelled)
            items = items[:limit] if limit else items
            chosen = fallback or classes[0]
            if chosen not in classes:
                raise BadOption(f"--fallback = {chosen!r}: the set's classes are {', '.join(classes)}")
            if write_items is not None:
                told = instructions or instructions_for(classes)
                write_items.write_text(
                    "".join(
                        q.model_dump_json(by_alias=True, exclude_none=True) + "\n"
                        for q in quality_items(items, told, max_tokens)
                    ),
                    encoding="utf-8",
                )
                err.print(f"wrote {len(items)} items to {write_items}")
                return
            endpoint_given = endpoint_file is not None or base_url is not None or model is not None
            if (command is None) == (not endpoint_given):
                raise BadOption("give --command, or an endpoint (a file, or --base-url and --model), not both")
            err.print(f"{len(items):,} items, classes {', '.join(classes)}; answers naming none count as {chosen}")
            with item_progress("classify", len(items), "right") as on_item:
                where = out or paths.classifier_dir()
                if command is not None:
                    run_dir = classify_command(
                        command,
                        items,
                        classes,
                        chosen,
                        labelled_set=labelled,
                        digest=digest,
                        out_dir=where,
                        timeout_s=timeout,
                        on_item=on_item,
                    )
                else:
                    ep = endpoint_of(endpoint_file, base_url, model, api_style=api_style, api_key_env=api_key_env)
                    run_dir = classify_endpoint(
                        ep,
                        items,
                        classes,
                        chosen,
                        labelled_set=labelled,
                        digest=digest,
                        out_dir=where,
                        instructions=instructions,
                        max_tokens=max_tokens,
                        concurrency=concurrency,
                        timeout_s=timeout,
                        max_cost_usd=max_cost_usd,
                        prices=price_pair(price_in, price_out),
                        on_item=on_item,
                    )
        except (ProbeWriteError, CommandFailed) as e:
            err.print(Text.assemble(("error: ", "bold red"), str(e)), soft_wrap=True)
            raise typer.Exit(1) from None
        except (InputError, BadOption, ValueError) as e:
            fail(e)
        print_confusion(run_dir, stdout_console())
        if command is None:
            exit_if_stopped(read_manifest(run_dir), run_dir)
        else:
            from costmodel.io.classifier_run import read_info

            if read_info(run_dir).status == "interrupted":
                raise typer.Exit(130)
