"""The explore notebook's widgets: controls wired to :func:`what_if`; each change redraws the
figures in their Output areas (see :meth:`Explorer.show` for why not FigureWidget).

``what_if`` is pure (scenario + catalog files + control values in, evaluation out);
``bench/widgets.py`` times it with the redraw; ``explorer()`` builds the ipywidgets layout that
``notebooks/1.01-explore-build-vs-buy.ipynb`` and ``tco dashboard`` show.
"""

from __future__ import annotations

import contextlib
import functools
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.io.base_renderers import PlotlyRenderer

from costmodel import document, paths
from costmodel.engine import EngineError, Evaluation, evaluate
from costmodel.io.catalog import CatalogFiles, build_catalog, check_references, load_catalog_files, resolve_api_price
from costmodel.io.files import InputError
from costmodel.io.scenario import load_scenario
from costmodel.model.catalog import Catalog
from costmodel.model.evaluation import Document
from costmodel.model.scenario import ApiOption, OwnedOption, RentedOption, Scenario, with_values
from costmodel.text import MISSING, count, usd, usd_rate
from costmodel.whatif import scale_prices
from tco import figures
from tco.markup import text

API_CHOICES = (
    "openai/gpt-4o-mini",
    "openai/gpt-4o",
    "openai/gpt-4.1-mini",
    "openai/gpt-4.1",
    "openai/gpt-5-mini",
    "aws/meta.llama3-3-70b-instruct-v1:0",
    "anthropic/claude-3-5-haiku-latest",
    "google/gemini-2.0-flash",
    "mistral/mistral-small-latest",
    "groq/llama-3.3-70b-versatile",
)
_FIGURE_MIME = PlotlyRenderer(config={"displaylogo": False})  # plotly's mime renderer, as fig.show() uses it


@dataclass(frozen=True)
class Controls:
    """Everything a user can change in the explorer; ``None`` keeps the scenario's value."""

    requests_per_month: float | None = None
    input_tokens: float | None = None
    output_tokens: float | None = None
    model: str | None = None
    quantization: str | None = None
    gpu: str | None = None
    gpu_count: int | None = None  # fixed fleet of every self-hosted option; None = auto
    api_model: str | None = None  # "provider/model" for the first API option
    max_utilization: float | None = None
    api_price: float = 1.0
    gpu_price: float = 1.0
    horizon_months: int | None = None
    discount_rate: float | None = None


@dataclass(frozen=True)
class WhatIf:
    scenario: Scenario
    catalog: Catalog
    evaluation: Evaluation
    doc: Document  # what the summary and the figures show


def apply_controls(scenario: Scenario, c: Controls) -> Scenario:
    """The scenario with the controls' values written into it."""
    values: dict[str, Any] = {}
    for path, v in (
        ("workload.requests_per_month", c.requests_per_month),
        ("workload.input_tokens_per_request", c.input_tokens),
        ("workload.output_tokens_per_request", c.output_tokens),
        ("horizon_months", c.horizon_months),
        ("discount_rate", c.discount_rate),
    ):
        if v is not None:
            values[path] = v
    if scenario.serving is not None:
        if c.model:
            values["serving.model"] = c.model
        if c.quantization:
            values["serving.quantization"] = c.quantization
    for o in scenario.options:
        if isinstance(o, RentedOption | OwnedOption):
            if c.gpu:
                values[f"options.{o.name}.gpu"] = c.gpu
                if c.gpu != o.gpu and isinstance(o, RentedOption) and o.provider:
                    values[f"options.{o.name}.provider"] = None  # the old provider may not rent this GPU
            if c.model and o.model:
                values[f"options.{o.name}.model"] = c.model
            if c.quantization and o.quantization:
                values[f"options.{o.name}.quantization"] = c.quantization
            values[f"options.{o.name}.gpus"] = c.gpu_count
            if c.max_utilization is not None:
                values[f"options.{o.name}.max_utilization"] = c.max_utilization
    first_api = next((o for o in scenario.options if isinstance(o, ApiOption)), None)
    if c.api_model and first_api is not None:
        provider, _, model = c.api_model.partition("/")
        values[f"options.{first_api.name}.provider"] = provider
        values[f"options.{first_api.name}.model"] = model
        values[f"options.{first_api.name}.label"] = f"{provider} {model} API"
    return with_values(scenario, values) if values else scenario


def what_if(scenario: Scenario, files: CatalogFiles, controls: Controls) -> WhatIf:
    """Evaluate ``scenario`` under ``controls``. Raises InputError / EngineError on impossible combinations."""
    sc = apply_controls(scenario, controls)
    catalog = _catalog(files, sc)
    sc, catalog = scale_prices(sc, catalog, api=controls.api_price, gpu=controls.gpu_price)
    ev = evaluate(sc, catalog)
    return WhatIf(sc, catalog, ev, document.build(ev, catalog, sweeps=False, register_rows=False))


def _catalog(files: CatalogFiles, sc: Scenario) -> Catalog:
    """The catalog with API prices for ``sc``; price look-ups are cached per (provider, model, prompt size)."""
    base = _base_catalog(files)
    check_references(sc, base, "explorer")
    key = tuple(sorted((o.provider, o.model) for o in sc.options if isinstance(o, ApiOption)))
    try:
        prices = _cached_prices(files, key, sc.workload.input_tokens_per_request)
    except LookupError as e:
        raise InputError("explorer", "api model", key, str(e)) from None
    return base.model_copy(update={"api_prices": prices})


@functools.lru_cache(maxsize=256)
def _cached_prices(files: CatalogFiles, key: tuple, input_tokens: float) -> dict:
    return {(p, m): resolve_api_price(p, m, files, input_tokens) for p, m in key}


@functools.lru_cache(maxsize=4)
def _base_catalog(files: CatalogFiles) -> Catalog:
    return build_catalog(files)


def what_if_figures(w: WhatIf) -> dict[str, go.Figure]:
    d = w.doc
    return {
        "volume": figures.cost_vs_volume(d),
        "cumulative": figures.cumulative_cost(d),
        "per_million": figures.cost_per_million(d),
        "gpus": figures.gpus_and_slo(d),
    }


def summary_html(d: Document) -> str:
    """The recommendation sentence and a compact table of the options (every value escaped)."""
    rows = "".join(
        f"<tr><td>{text(o.name)}</td><td>{text(o.kind)}</td><td class='num'>{usd(o.total_cost_usd)}</td>"
        f"<td class='num'>{usd(o.npv_cost_usd)}</td><td class='num'>{usd_rate(o.usd_per_million_tokens)}</td>"
        f"<td class='num'>{count(o.gpus_at_peak)}</td><td>{text(o.slo.word)}</td></tr>"
        for o in d.options
    )
    classifiers = "".join(  # a router's classifier: said here unless the recommendation says it
        f"<div class='tco-classifier'>{text(k.sentence)}</div>"
        for o in d.options
        if o.routing is not None
        and (k := o.routing.classifier) is not None
        and k.sentence not in d.recommendation.sentence
    )
    return (
        f"<div class='tco-inputs'>{text(d.workload.summary)}</div>"
        f"<div class='tco-recommendation'><b>Recommendation:</b> {text(d.recommendation.sentence)}</div>"
        f"{classifiers}"
        "<table class='tco-summary'><tr><th>option</th><th>kind</th><th>total cost</th><th>NPV of cost</th>"
        f"<th>$/1M tok</th><th>GPUs at peak</th><th>SLO</th></tr>{rows}</table>"
    )


@dataclass
class Explorer:
    """The widget tree and its state (built by :func:`explorer`)."""

    files: CatalogFiles
    scenario_dir: Path
    scenario: Scenario | None = None
    widgets: dict[str, Any] = field(default_factory=dict)
    figs: dict[str, Any] = field(default_factory=dict)  # ipywidgets.Output per figure
    last_seconds: float = 0.0
    quiet: bool = False
    failed: bool = False  # the last change did not evaluate: the numbers shown are the previous ones

    def controls(self) -> Controls:
        w = self.widgets
        count = w["gpu_count"].value
        return Controls(
            requests_per_month=w["volume"].value,
            input_tokens=w["tokens_in"].value,
            output_tokens=w["tokens_out"].value,
            model=w["model"].value or None,
            quantization=w["quant"].value or None,
            gpu=w["gpu"].value or None,
            gpu_count=None if count == "auto" else int(count),
            api_model=w["api"].value or None,
            max_utilization=w["util"].value,
            api_price=w["api_price"].value,
            gpu_price=w["gpu_price"].value,
            horizon_months=w["horizon"].value,
            discount_rate=w["rate"].value,
        )

    def recompute(self, *_: Any) -> None:
        """Evaluate the controls and show the result; when that fails, say so in place and fade the
        numbers, which belong to the last inputs that evaluated: inputs and numbers never disagree
        silently. Every failure is caught here, the UI's boundary: Voila would swallow it."""
        t0 = time.perf_counter()
        try:
            if self.scenario is None:
                raise InputError("explorer", "scenario", MISSING, "no scenario is loaded")
            result = what_if(self.scenario, self.files, self.controls())
            self.show(result)
        except Exception as e:
            self.failed = True
            why = str(e) if isinstance(e, InputError | EngineError) else f"{type(e).__name__}: {e}"
            self.widgets["status"].value = (
                "<div class='tco-error' style='color:#b00'><b>Not evaluated at these inputs:</b> "
                f"{text(why)}. The numbers and charts below are for the last inputs that evaluated.</div>"
            )
            self._fade(True)
            return
        self.failed = False
        self._fade(False)
        self.last_seconds = time.perf_counter() - t0
        self.widgets["status"].value = f"<span style='color:#666'>recomputed in {self.last_seconds * 1e3:.0f} ms</span>"

    def _fade(self, stale: bool) -> None:
        for out in self.figs.values():
            out.layout.opacity = "0.35" if stale else "1"
        self.widgets["summary"].layout.opacity = "0.35" if stale else "1"

    def load(self, name: str) -> None:
        """Switch scenario: reset the controls to its values, then recompute."""
        self.scenario = load_scenario(self.scenario_dir / f"{name}.yaml")
        sc, w = self.scenario, self.widgets
        hosted = [o for o in sc.options if isinstance(o, RentedOption | OwnedOption)]
        first_api = next((o for o in sc.options if isinstance(o, ApiOption)), None)
        with self._paused():
            w["volume"].value = sc.workload.requests_per_month
            w["tokens_in"].value = int(sc.workload.input_tokens_per_request)
            w["tokens_out"].value = int(sc.workload.output_tokens_per_request)
            w["model"].value = ""  # "" keeps each option's own choice
            w["quant"].value = ""
            w["gpu"].value = ""
            w["gpu_count"].value = "auto"
            api = f"{first_api.provider}/{first_api.model}" if first_api else ""
            if api and api not in w["api"].options:
                w["api"].options = (*w["api"].options, api)
            w["api"].value = api
            w["util"].value = hosted[0].max_utilization if hosted else 0.8
            w["api_price"].value = 1.0
            w["gpu_price"].value = 1.0
            w["horizon"].value = sc.horizon_months
            w["rate"].value = sc.discount_rate
        self.recompute()

    def show(self, result: WhatIf) -> None:
        """Put a result on screen: each figure replaces the one in its own Output area.

        Why not plotly's FigureWidget: under Voila (plotly 7.1, ipywidgets 8.1, voila 0.5)
        the FigureWidget updated last in a round of updates was not redrawn, and traces or
        widgets added after the first display were never drawn (checked in Chromium). An
        Output area showing the figure through plotly's mime type redraws every time.

        Why the Output's ``outputs`` are set, not captured with ``with out:``: while Voila runs
        the notebook, nbclient answers each captured output with a message on the kernel's
        shell channel, and that send can swallow the wake-up for the cell's own reply, so the
        page waited for ever at "Executing 2 of 5" (14 of 20 loads here with the other core busy).
        Setting the state sends nothing back, and swaps each figure in one message.
        """
        for key, fig in what_if_figures(result).items():
            self.figs[key].outputs = (
                {"output_type": "display_data", "metadata": {}, "data": _FIGURE_MIME.to_mimebundle(fig.to_dict())},
            )
        self.widgets["summary"].value = summary_html(result.doc)

    @contextlib.contextmanager
    def _paused(self):
        """Set many controls without a recompute for each."""
        self.quiet = True
        try:
            yield
        finally:
            self.quiet = False

    def on_change(self, change: dict) -> None:
        if not self.quiet:
            self.recompute()


def explorer(scenario: str = "fintech-rag", scenario_dir: Path | None = None) -> Any:
    """Build the explorer for ``scenario`` (a file stem in ``data/scenarios``); returns the widget tree."""
    import ipywidgets as W
    import plotly.io as pio

    pio.templates.default = figures.TEMPLATE
    files = load_catalog_files()
    sdir = scenario_dir or paths.scenarios_dir()
    names = sorted(p.stem for p in sdir.glob("*.yaml"))
    ex = Explorer(files, sdir)
    style = {"description_width": "150px"}
    lay = W.Layout(width="420px")
    w = ex.widgets
    w["scenario"] = W.Dropdown(options=names, value=scenario, description="Scenario", style=style, layout=lay)
    # A typed number, not a log slider: a slider snaps to its grid (2,000,000 -> 1,995,262) and the
    # numbers would no longer match the scenario's own evaluation.
    w["volume"] = W.BoundedFloatText(
        value=1e6, min=0, max=1e12, step=1e5, description="Requests / month", style=style, layout=lay
    )
    w["tokens_in"] = W.BoundedIntText(
        value=1000, min=1, max=200_000, description="Input tokens", style=style, layout=lay
    )
    w["tokens_out"] = W.BoundedIntText(
        value=200, min=1, max=32_000, description="Output tokens", style=style, layout=lay
    )
    keep = [("as in scenario", "")]
    w["model"] = W.Dropdown(
        options=keep + [(m.id, m.id) for m in files.models.models], description="Open model", style=style, layout=lay
    )
    w["quant"] = W.Dropdown(
        options=keep + [(q.id, q.id) for q in files.quantizations.quantizations],
        description="Quantization",
        style=style,
        layout=lay,
    )
    w["gpu"] = W.Dropdown(
        options=keep + [(g.id, g.id) for g in files.gpus.gpus], description="GPU (self-hosted)", style=style, layout=lay
    )
    w["gpu_count"] = W.Dropdown(
        options=["auto", "1", "2", "4", "8", "16", "32", "64"],
        value="auto",
        description="GPUs (fixed fleet)",
        style=style,
        layout=lay,
    )
    w["api"] = W.Dropdown(options=("", *API_CHOICES), description="API model", style=style, layout=lay)
    w["util"] = W.FloatSlider(
        value=0.8, min=0.3, max=1.0, step=0.05, description="Planned utilisation", style=style, layout=lay
    )
    w["api_price"] = W.FloatSlider(
        value=1.0, min=0.2, max=3.0, step=0.05, description="API price x", style=style, layout=lay
    )
    w["gpu_price"] = W.FloatSlider(
        value=1.0, min=0.2, max=3.0, step=0.05, description="GPU price x", style=style, layout=lay
    )
    w["horizon"] = W.IntSlider(
        value=36, min=6, max=120, step=6, description="Horizon (months)", style=style, layout=lay
    )
    w["rate"] = W.FloatSlider(
        value=0.08,
        min=0.0,
        max=0.3,
        step=0.01,
        description="Discount rate",
        style=style,
        layout=lay,
        readout_format=".0%",
    )
    w["summary"] = W.HTML()
    w["status"] = W.HTML()
    ex.figs = {key: W.Output(layout=W.Layout(width="50%")) for key in ("volume", "cumulative", "per_million", "gpus")}
    ex.load(scenario)
    for key, widget in w.items():
        if key in ("summary", "status"):
            continue
        if key == "scenario":
            widget.observe(lambda ch: ex.load(ch["new"]), names="value")
        else:
            widget.observe(ex.on_change, names="value")
    controls = W.VBox(
        [
            w[k]
            for k in (
                "scenario",
                "volume",
                "tokens_in",
                "tokens_out",
                "model",
                "quant",
                "gpu",
                "gpu_count",
                "api",
                "util",
                "api_price",
                "gpu_price",
                "horizon",
                "rate",
            )
        ]
        + [w["status"]]
    )
    top = W.HBox([controls, W.VBox([w["summary"]], layout=W.Layout(flex="1", padding="0 0 0 20px"))])
    f = ex.figs
    root = W.VBox([top, W.HBox([f["volume"], f["cumulative"]]), W.HBox([f["per_million"], f["gpus"]])])
    root.explorer = ex  # for tests and benchmarks: the state behind the widgets
    return root
