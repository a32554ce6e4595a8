"""The explore notebook's widgets: controls wired to :func:`tco.state.what_if`; each change shows
the recommendation and costs, then runs the state's Monte Carlo and redraws the figures in their
Output areas (see :meth:`Explorer.draw` for why not FigureWidget); goal-seek, compare and
hand-over buttons (:mod:`tco.share`).

``what_if`` is pure (scenario + catalog files + control values in, evaluation out: :mod:`tco.state`);
``bench/widgets.py`` times it with the redraw; ``explorer()`` builds the ipywidgets layout that
``notebooks/1.01-explore-build-vs-buy.ipynb`` and ``tco dashboard`` show.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.io.base_renderers import PlotlyRenderer

from costmodel import paths
from costmodel.engine import EngineError
from costmodel.goalseek import goal_seek, goal_seek_factors
from costmodel.goalseek import sentence as goal_sentence
from costmodel.io.catalog import CatalogFiles, load_catalog_files
from costmodel.io.files import InputError
from costmodel.io.scenario import load_scenario
from costmodel.model.evaluation import Document
from costmodel.model.scenario import ApiOption, OwnedOption, RentedOption, Scenario
from costmodel.text import MISSING, count, usd, usd_rate
from costmodel.uncertainty import simulate, with_confidence
from tco import figures, share
from tco.markup import text
from tco.state import Controls, WhatIf, base_catalog, what_if

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


def _draw(out: Any, fig: go.Figure) -> None:
    """Show ``fig`` in an ``Output`` area as its whole state, through plotly's mime type (see
    :meth:`Explorer.draw` for why)."""
    out.outputs = ({"output_type": "display_data", "metadata": {}, "data": _FIGURE_MIME.to_mimebundle(fig.to_dict())},)


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
    crossings = "".join(
        f"<li>{text(b.self_hosted_label)} vs {text(b.api_label)}: "
        + (f"break-even {count(b.requests_per_month)} requests/month" if b.requests_per_month else text(b.note))
        + (f", payback {text(b.payback_note)}" if b.payback_note != "not owned" else "")
        + "</li>"
        for b in d.break_even
    )
    return (
        f"<div class='tco-inputs'>{text(d.workload.summary)}</div>"
        f"<div class='tco-recommendation'><b>Recommendation:</b> {text(d.recommendation.sentence)}</div>"
        f"{classifiers}"
        + (
            f"<div class='tco-retiring'><b>Retiring models:</b> {text(d.retiring_models_note)}</div>"
            if d.retiring_models_note
            else ""
        )
        + (f"<ul class='tco-break-even'>{crossings}</ul>" if crossings else "")
        + f"<div class='tco-capacity'><b>How sure:</b> {text(d.capacity_summary)}</div>"
        + "<table class='tco-summary'><tr><th>option</th><th>kind</th><th>total cost</th><th>NPV of cost</th>"
        f"<th>$/1M tok</th><th>GPUs at peak</th><th>SLO</th></tr>{rows}</table>"
    )


def after_this(fn: Any) -> None:
    """Run ``fn`` once the kernel is free again (what was sent so far reaches the page first); at
    once where no event loop runs (a script, a test)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is None:
        fn()
    else:
        loop.call_soon(fn)


# the controls that re-evaluate, in the order shown (under the scenario picker)
CONTROLS = (
    *("volume", "tokens_in", "tokens_out", "model", "quant", "gpu", "gpu_count"),
    *("api", "util", "api_price", "gpu_price", "horizon", "rate"),
)
REPORT_DRAWS = 20_000  # the what-if report's Monte Carlo (the whole report takes about 15 s here)
WHAT_IF_DRAWS = 10_000  # Monte Carlo draws per change: about 0.2 s here (1M take 2 s)


def how_sure_html(w: WhatIf, draws: int = WHAT_IF_DRAWS) -> str:
    """The Monte Carlo of a what-if state in one line: how often the recommendation is the cheapest
    eligible option, and its NPV of cost from P10 to P90."""
    sc, best = w.scenario, w.evaluation.recommendation.option
    if not sc.uncertainty:
        return "<div class='tco-sure'>How sure: this scenario states no uncertainty section, so no Monte Carlo.</div>"
    if best is None:
        return "<div class='tco-sure'>How sure: no option is recommended at these inputs.</div>"
    try:
        sim = simulate(sc, w.catalog, draws, seed=0)
    except Exception as e:  # the UI's boundary: say it in place
        return f"<div class='tco-error'>Monte Carlo not run at these inputs: {text(str(e))}</div>"
    confidence = with_confidence(w.evaluation, sim).recommendation.reasons[-1]  # the engine's own sentence
    row = sim.summary().loc[best]
    return (
        f"<div class='tco-sure'>How sure, at these settings, that {text(best)} is the one: {text(confidence)} "
        f"Its NPV of cost runs from {usd(row['npv_cost_p10'])} (P10) to {usd(row['npv_cost_p90'])} (P90).</div>"
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
    name: str = ""  # the scenario file's stem
    current: WhatIf | None = None  # the state on screen
    pinned: WhatIf | None = None  # the state pinned for comparison
    syncing: bool = False  # the volume box is moving the slider: the slider does not write back

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

    def set_controls(self, c: Controls) -> None:
        """Show ``c`` in the widgets (the inverse of :meth:`controls`), without a recompute per widget."""
        w, sc = self.widgets, self.scenario
        assert sc is not None
        hosted = [o for o in sc.options if isinstance(o, RentedOption | OwnedOption)]
        first_api = next((o for o in sc.options if isinstance(o, ApiOption)), None)
        api = c.api_model or (f"{first_api.provider}/{first_api.model}" if first_api else "")
        if api and api not in w["api"].options:
            w["api"].options = (*w["api"].options, api)
        with self._paused():
            w["volume"].value = c.requests_per_month or sc.workload.requests_per_month
            w["tokens_in"].value = int(c.input_tokens or sc.workload.input_tokens_per_request)
            w["tokens_out"].value = int(c.output_tokens or sc.workload.output_tokens_per_request)
            w["model"].value = c.model or ""  # "" keeps each option's own choice
            w["quant"].value = c.quantization or ""
            w["gpu"].value = c.gpu or ""
            w["gpu_count"].value = "auto" if c.gpu_count is None else str(c.gpu_count)
            w["api"].value = api
            w["util"].value = c.max_utilization or (hosted[0].max_utilization if hosted else 0.8)
            w["api_price"].value = c.api_price
            w["gpu_price"].value = c.gpu_price
            w["horizon"].value = c.horizon_months or sc.horizon_months
            w["rate"].value = sc.discount_rate if c.discount_rate is None else c.discount_rate

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
        # Once the headline has been sent: the Monte Carlo of this state, then the charts. Drawing
        # four plotly charts takes the browser 1.3 s here, and the page lays out the headline only
        # after the figures it has already received; the Monte Carlo's 0.2 s lets it come first.
        after_this(self.how_sure)
        after_this(lambda: self.draw(result))

    def how_sure(self) -> None:
        """How sure the recommendation of the state on screen is: a Monte Carlo of the scenario's
        uncertainty section at these inputs (:data:`WHAT_IF_DRAWS` draws)."""
        w = self.current
        if w is None:
            return
        self.widgets["sure"].value = how_sure_html(w)

    def _fade(self, stale: bool) -> None:
        for out in self.figs.values():
            out.layout.opacity = "0.35" if stale else "1"
        for key in ("summary", "sure"):
            self.widgets[key].layout.opacity = "0.35" if stale else "1"

    def load(self, name: str, controls: Controls | None = None) -> None:
        """Switch scenario: set the controls to its values (or to ``controls``), then recompute."""
        self.scenario = load_scenario(self.scenario_dir / f"{name}.yaml")
        self.name = name
        self.set_controls(controls or Controls())
        self.goal_factors()
        self.recompute()

    def show(self, result: WhatIf) -> None:
        """Put a result's headline on screen: the summary, the share line, the comparison (the charts
        follow in :meth:`draw`, once the headline has been sent)."""
        self.widgets["summary"].value = summary_html(result.doc)
        self.current = result
        self.widgets["share"].value = self.share_html()
        self.widgets["downloads"].value = self.widgets["report"].value = ""  # they were for the previous state
        if self.pinned is not None:
            self.compare()

    def draw(self, result: WhatIf) -> None:
        """The four charts of ``result``, unless a later change has replaced it on screen: each
        figure replaces the one in its own Output area.

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
        if result is not self.current:
            return
        for key, fig in what_if_figures(result).items():
            _draw(self.figs[key], fig)

    # ------------------------------------------------------------------ share, export, compare, goal-seek

    def share_html(self) -> str:
        """The state as a link (the controls in the query string) and as a ``tco evaluate`` line."""
        q = share.query(self.name, self.controls())
        file = self.scenario_dir / f"{self.name}.yaml"
        file = file.relative_to(paths.ROOT) if file.is_relative_to(paths.ROOT) else file  # as typed in the checkout
        line = share.set_line(file, self.scenario, self.current) if self.current and self.scenario else ""
        return (
            f"<div class='tco-share'>Share: <a class='tco-share-link' href='?{text(q)}'>link to this state</a>"
            f"<div>Same numbers from the command line:</div><code class='tco-set-line'>{text(line)}</code></div>"
        )

    def export(self, *_: Any) -> None:
        """Download links for the state: the scenario YAML (loads back to these numbers) and the
        audit workbook."""
        w = self.current
        if w is None:
            return
        try:
            book = share.workbook_bytes(w)
        except Exception as e:  # the UI's boundary: say it in place
            self.widgets["downloads"].value = f"<div class='tco-error'>Workbook not written: {text(str(e))}</div>"
            book = None
        yaml_text = share.scenario_yaml(w)
        links = [
            share.data_link("scenario YAML", yaml_text.encode(), f"{self.name}-what-if.yaml", "text/yaml", "tco-yaml")
        ]
        if book is not None:
            links.append(share.data_link("workbook (.xlsx)", book, f"{self.name}-what-if.xlsx", share.XLSX, "tco-xlsx"))
        self.widgets["downloads"].value = "<div class='tco-downloads'>Download: " + " · ".join(links) + "</div>"

    def report(self, *_: Any) -> None:
        """The report of the state on screen, rendered as ``tco report`` renders a file (offline HTML,
        and a PDF where chromium is installed), offered as download links. Takes about 15 s here:
        the page says so while it runs."""
        w = self.current
        if w is None:
            return
        from tco.render import find_browser
        from tco.report import render

        self.widgets["report"].value = "<i>rendering the report of this state (about 15 s)…</i>"
        try:
            find_browser()
            with_pdf = True
        except InputError:  # no chromium: the HTML only, and the page says why
            with_pdf = False
        try:
            with tempfile.TemporaryDirectory() as d:
                folder = Path(d)
                yaml_path = folder / f"{self.name}-what-if.yaml"
                yaml_path.write_text(share.scenario_yaml(w))
                html, pdf = folder / f"{self.name}-what-if.html", folder / f"{self.name}-what-if.pdf"
                render(yaml_path, html, pdf=pdf if with_pdf else None, draws=REPORT_DRAWS, progress=lambda _: None)
                links = [share.data_link("report (HTML)", html.read_bytes(), html.name, "text/html", "tco-report-html")]
                if with_pdf:
                    links.append(
                        share.data_link("report (PDF)", pdf.read_bytes(), pdf.name, "application/pdf", "tco-report-pdf")
                    )
        except Exception as e:  # the UI's boundary: say it in place
            self.widgets["report"].value = f"<div class='tco-error'>Report not rendered: {text(str(e))}</div>"
            return
        note = "" if with_pdf else " (no PDF: chromium is not installed here)"
        self.widgets["report"].value = "<div class='tco-report'>Download: " + " · ".join(links) + note + "</div>"

    def pin(self, *_: Any) -> None:
        """Pin the state on screen: every later change is compared with it."""
        self.pinned = self.current
        self.compare()

    def pin_file(self, *_: Any) -> None:
        """Compare the state on screen with the scenario file as saved."""
        if self.scenario is None:
            return
        try:
            self.pinned = what_if(self.scenario, self.files, Controls())
        except Exception as e:  # the UI's boundary: say it in place
            self.widgets["compare"].value = f"<div class='tco-error'>The file does not evaluate: {text(str(e))}</div>"
            return
        self.compare()

    def unpin(self, *_: Any) -> None:
        self.pinned = None
        self.widgets["compare"].value = ""

    def compare(self) -> None:
        if self.pinned is None or self.current is None:
            return
        try:
            self.widgets["compare"].value = share.comparison_html(share.comparison(self.pinned, self.current))
        except Exception as e:  # the UI's boundary: say it in place
            self.widgets["compare"].value = f"<div class='tco-error'>Not compared: {text(str(e))}</div>"

    def reset(self, *_: Any) -> None:
        """Back to the scenario file's values."""
        self.load(self.name)

    def goal_factors(self) -> None:
        """The goal-seek inputs of this scenario."""
        if self.scenario is None:
            return
        factors = goal_seek_factors(self.scenario, base_catalog(self.files))
        self.widgets["goal_input"].options = [(f.name, i) for i, f in enumerate(factors)]
        self.widgets["goal_input"].value = 0

    def goal_seek(self, *_: Any) -> None:
        """Where the recommendation changes along the chosen input, from the state on screen."""
        w = self.current
        if w is None:
            return
        self.widgets["goal_said"].value = "<i>searching…</i>"
        try:
            factor = goal_seek_factors(w.scenario, w.catalog)[self.widgets["goal_input"].value]
            g = goal_seek(w.scenario, w.catalog, factor)
        except Exception as e:  # the UI's boundary: say it in place
            self.widgets["goal_said"].value = f"<div class='tco-error'>Not sought: {text(str(e))}</div>"
            return
        self.widgets["goal_said"].value = f"<div class='tco-goal'>{text(goal_sentence(g))}</div>"
        _draw(self.figs["goal"], figures.goal_seek(g))

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


def warm(scenario: str = "fintech-rag") -> None:
    """Do once, in a new kernel, what every first render pays for: the imports, the catalog, a first
    evaluation and price lookup, and the first figure of each kind (plotly builds its validators on
    first use). Nothing is shown and no widget is made. Best effort: a scenario that does not load
    is left for the page's own run to report.

    ``tco dashboard`` runs this as each kernel starts (``tco/jupyter/kernel_startup.py``), while the
    browser loads the page's scripts: the first render comes about 1 s sooner (``bench/dashboard.py``).
    """
    try:
        result = what_if(load_scenario(paths.scenarios_dir() / f"{scenario}.yaml"), load_catalog_files(), Controls())
    except (InputError, EngineError):
        return
    for fig in what_if_figures(result).values():
        _FIGURE_MIME.to_mimebundle(fig.to_dict())
    import ipywidgets  # noqa: F401  (the explorer's own import)


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
    # ... and a log slider beside it to drag towards a break-even: it writes a round volume into the
    # box, which stays the exact figure evaluated
    w["volume_drag"] = W.FloatLogSlider(
        value=1e6, base=10, min=3, max=11, step=0.01, description="drag volume", readout=False, style=style, layout=lay
    )

    def dragged(change: dict) -> None:
        # the browser echoes the slider's own snapped position back (30,000,000 -> 30,199,517): a
        # value within half a step of the box's is that echo, not a drag
        box = max(w["volume"].value, 1.0)
        if ex.syncing or abs(math.log10(change["new"]) - math.log10(box)) <= w["volume_drag"].step / 2:
            return
        w["volume"].value = float(f"{change['new']:.3g}")

    def typed(change: dict) -> None:
        ex.syncing = True
        try:
            w["volume_drag"].value = min(max(change["new"], 1e3), 1e11)
        finally:
            ex.syncing = False

    w["volume_drag"].observe(dragged, names="value")
    w["volume"].observe(typed, names="value")
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
    # goal-seek, share and export, compare: panels whose contents the explorer's methods fill
    for key in ("share", "downloads", "report", "compare", "goal_said", "sure"):
        w[key] = W.HTML()
    w["goal_input"] = W.Dropdown(options=[("", 0)], description="Goal-seek", style=style, layout=lay)
    buttons = {
        "goal_button": ("Find where the decision changes", ex.goal_seek),
        "export_button": ("Prepare downloads", ex.export),
        "report_button": ("Render the report", ex.report),
        "file_button": ("Compare with the file", ex.pin_file),
        "pin_button": ("Pin this state", ex.pin),
        "unpin_button": ("Unpin", ex.unpin),
        "reset_button": ("Reset to the file", ex.reset),
    }
    for key, (label, action) in buttons.items():
        w[key] = W.Button(description=label, layout=W.Layout(width="auto"))
        w[key].on_click(action)
    ex.figs = {
        key: W.Output(layout=W.Layout(width="50%")) for key in ("volume", "cumulative", "per_million", "gpus", "goal")
    }
    scenario_name, wanted = scenario, None
    shared = os.environ.get("QUERY_STRING", "")  # Voila passes the page's query string to the kernel
    if shared:
        try:
            named, wanted = share.from_query(shared, Controls)
            if named in names:
                scenario_name = named
        except InputError as e:
            w["status"].value = f"<div class='tco-error'>Share link not applied: {text(str(e))}</div>"
    w["scenario"].value = scenario_name
    ex.load(scenario_name, wanted)
    w["scenario"].observe(lambda ch: ex.load(ch["new"]), names="value")
    for key in CONTROLS:  # each re-evaluates (the slider only moves the volume box)
        w[key].observe(ex.on_change, names="value")
    shown = ("scenario", "volume", "volume_drag", *(k for k in CONTROLS if k != "volume"), "reset_button", "status")
    controls = W.VBox([w[k] for k in shown])
    top = W.HBox([controls, W.VBox([w["summary"], w["sure"]], layout=W.Layout(flex="1", padding="0 0 0 20px"))])
    f = ex.figs
    goal = W.VBox([W.HBox([w["goal_input"], w["goal_button"]]), w["goal_said"], f["goal"]])
    hand_over = W.VBox(
        [
            W.HBox([w["export_button"], w["report_button"], w["pin_button"], w["file_button"], w["unpin_button"]]),
            w["share"],
            w["downloads"],
            w["report"],
            w["compare"],
        ]
    )
    root = W.VBox([top, W.HBox([f["volume"], f["cumulative"]]), W.HBox([f["per_million"], f["gpus"]]), goal, hand_over])
    root.explorer = ex  # for tests and benchmarks: the state behind the widgets
    return root
