"""A price shows its age: every catalog price a scenario uses, its date and age at the scenario's
date, flagged past the scenario's threshold in every face; a catalog date after today is refused."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta

import pytest
import yaml

from costmodel.io.catalog import load_catalog_files
from costmodel.io.files import InputError
from costmodel.io.scenario import load
from costmodel.price_age import price_ages, stale_note, stale_prices
from tests.conftest import FINTECH, ROOT, tco

SC, CATALOG = load(FINTECH)


LAMBDA_H100 = "rent-h100: h100-sxm lambda gpu_8x_h100_sxm5 all regions on-demand rate"


def test_each_used_price_with_its_age_by_hand():
    ages = {a.name: a for a in price_ages(SC, CATALOG)}
    lambda_h100 = ages[LAMBDA_H100]  # a curated row of the rental snapshot
    assert lambda_h100.as_of == date(2026, 9, 20)
    assert lambda_h100.age_days == (date(2026, 11, 22) - date(2026, 9, 20)).days == 63
    assert not lambda_h100.stale and lambda_h100.value == "3.99 USD/GPU-hour"
    # every API option's three prices and the router classifier's two are listed, none stale
    assert "openai/gpt-4o-mini output price" in ages and "router classifier: openai/gpt-4o-mini input price" in ages
    assert stale_prices(SC, CATALOG) == []
    strict, _ = load(FINTECH, ["stale_price_days=60"])
    assert [a.name for a in stale_prices(strict, CATALOG)] == [LAMBDA_H100]
    # a price the scenario sets itself is not the catalog's: not listed
    own = load(FINTECH, ["options.rent-h100.usd_per_gpu_hour=2.5"])[0]
    assert not any(a.name.startswith("rent-h100") for a in price_ages(own, CATALOG))


def test_the_threshold_is_the_scenarios():
    relaxed, _ = load(FINTECH, ["stale_price_days=900"])
    assert stale_prices(relaxed, CATALOG) == [] and stale_note(relaxed, []) == ""
    strict, _ = load(FINTECH, ["stale_price_days=1"])
    assert len(stale_prices(strict, CATALOG)) >= 1
    with pytest.raises(InputError, match="stale_price_days"):
        load(FINTECH, ["stale_price_days=0"])


def test_a_catalog_date_after_today_is_refused(tmp_path):
    catalog = tmp_path / "catalog"
    shutil.copytree(ROOT / "data" / "catalog", catalog)
    gpus = yaml.safe_load((catalog / "gpus.yaml").read_text())
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    gpus["gpus"][0]["purchase_price"]["as_of"] = tomorrow
    (catalog / "gpus.yaml").write_text(yaml.safe_dump(gpus, sort_keys=False))
    gid = gpus["gpus"][0]["id"]
    with pytest.raises(
        InputError, match=rf"gpus\[{gid}\]\.purchase_price\.as_of = '{tomorrow}': {tomorrow} is in the future"
    ):
        load_catalog_files(catalog)
    done = tco("validate", str(FINTECH), "--catalog", str(catalog))
    assert done.returncode == 2 and "is in the future" in done.stderr and "Traceback" not in done.stderr


def test_every_face_says_which_prices_are_stale(tmp_path):
    """At a 60-day threshold the Lambda H100 rate (63 days old at the scenario's date) is stale."""
    strict = ["--set", "stale_price_days=60"]
    done = tco("evaluate", str(FINTECH), "--draws", "0", *strict)
    assert "stale prices: 1 price is older than 60 days" in " ".join(done.stdout.split())
    doc = json.loads(tco("evaluate", str(FINTECH), "--draws", "0", "--json", *strict).stdout)
    (only,) = doc["stale_prices"]
    assert only["as_of"] == "2026-09-20" and only["age_days"] == 63 and doc["stale_price_days"] == 60
    relaxed = json.loads(tco("evaluate", str(FINTECH), "--draws", "0", "--json").stdout)
    assert relaxed["stale_prices"] == [] and relaxed["stale_price_days"] == 365
    copy = tmp_path / "fintech-rag.yaml"
    copy.write_text(FINTECH.read_text() + "\nstale_price_days: 60\n")
    checked = tco("validate", str(copy))
    assert checked.returncode == 0 and "warning:" in checked.stderr and "63 days" in " ".join(checked.stderr.split())
    listed = tco("prices", "--stale", "--days", "365")
    assert listed.returncode == 0 and "h100-sxm rent gcp 3-year" in listed.stdout
