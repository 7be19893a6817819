"""``simulator``: run the fake KING OF TIME in the foreground and tell the admin what to type into the hub."""

from __future__ import annotations

import calendar
import time
from datetime import date, datetime

import click

from hub_plugins.kingoftime.simulator.data import THROTTLE_SHAPES, SimulatorConfig, noon_jst, real_jst
from hub_plugins.kingoftime.simulator.server import KingOfTimeSimulator

_DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.command("simulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8760, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--employees", default=30, show_default=True, type=click.IntRange(min=0), help="Number of employees.")
@click.option("--from", "start", type=_DATE, help="First day with data, YYYY-MM-DD [default: 1st of this month].")
@click.option("--to", "end", type=_DATE, help="Last day with data, YYYY-MM-DD [default: end of --from's month].")
@click.option("--seed", default=1, show_default=True, type=int, help="Same seed, same data and token.")
@click.option("--retired", default=2, show_default=True, type=click.IntRange(min=0),
              help="Retired employees: one before the period, the next in its middle.")  # fmt: skip
@click.option("--latency-ms", default=0.0, show_default=True, type=click.FloatRange(min=0),
              help="Delay added to every answer.")  # fmt: skip
@click.option("--rate-limit-rps", type=click.FloatRange(min=0, min_open=True),
              help="Token bucket: R requests a second, bursts of R, then throttled.")  # fmt: skip
@click.option("--throttle-shape", default="http429", show_default=True, type=click.Choice(THROTTLE_SHAPES),
              help="http429: 429 with Retry-After; body303: 403 with only the body {code: '303'}.")  # fmt: skip
@click.option("--rate-500", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Probability a call answers 500 code 300.")  # fmt: skip
@click.option("--refuse-address", is_flag=True,
              help="Every call but the token endpoints answers 403 code 100 (address not allowed).")  # fmt: skip
@click.option("--restricted-hours", default="off", show_default=True, type=click.Choice(("off", "real")),
              help="off: the clock reads 12:00 JST; real: the machine's clock, 08:30–10:00 and 17:30–18:30 JST "
              "refused.")  # fmt: skip
def simulator_command(
    host: str,
    port: int,
    employees: int,
    start: datetime | None,
    end: datetime | None,
    seed: int,
    retired: int,
    latency_ms: float,
    rate_limit_rps: float | None,
    throttle_shape: str,
    rate_500: float,
    refuse_address: bool,
    restricted_hours: str,
) -> None:
    """Run a fake KING OF TIME WebAPI with generated attendance data until Ctrl+C."""
    first, last = _period(start.date() if start else None, end.date() if end else None)
    config = SimulatorConfig(
        employees=employees,
        start=first,
        end=last,
        seed=seed,
        retired=retired,
        latency_ms=latency_ms,
        rate_limit_rps=rate_limit_rps,
        throttle_shape=throttle_shape,
        rate_500=rate_500,
        refuse_address=refuse_address,
        clock=real_jst if restricted_hours == "real" else noon_jst,
    )
    simulator = KingOfTimeSimulator(config, port=port, host=host, log_requests=True)
    try:
        simulator.start()
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error}") from error
    try:
        click.echo(connection_instructions(simulator))
        _wait_for_interrupt()
    except KeyboardInterrupt:
        click.echo("\nKING OF TIME simulator stopped.")
    finally:
        simulator.stop()


def connection_instructions(simulator: KingOfTimeSimulator) -> str:
    """What to type into the hub's KING OF TIME settings to use this simulator, and what it serves."""
    config = simulator.config
    employees = simulator.data.employees
    staff = f"{len(employees)} employees"
    if employees:
        staff += f" {employees[0]['code']}–{employees[-1]['code']}"
    retired = [f"{e['code']} retired {e['resignationDate']}" for e in employees if "resignationDate" in e]
    if retired:
        staff += f" ({'; '.join(retired)})"
    faults = [f"latency {config.latency_ms:g} ms", f"500 rate {config.rate_500:g}"]
    if config.rate_limit_rps:
        faults.append(f"rate limit {config.rate_limit_rps:g} requests/s, throttled as {config.throttle_shape}")
    if config.refuse_address:
        faults.append("this address refused (403 code 100)")
    hours = "real clock: 08:30–10:00 and 17:30–18:30 JST refused" if config.clock is real_jst else "off (12:00 JST)"
    lines = [
        f"KING OF TIME simulator listening on {simulator.url}/v1.0",
        "",
        "Enter these in the hub's KING OF TIME settings:",
        "  環境 / Environment:              カスタムURL (custom)",
        f"  API base URL:                    {simulator.url}",
        f"  アクセストークン / Access token: {simulator.access_token}",
        "",
        "or on the command line:",
        f"  hub integrations add kingoftime 'KING OF TIME' --set access_token={simulator.access_token} "
        f"--set environment=custom --set api_base_url={simulator.url}",
        "",
        f"Data:   {staff}",
        f"        {config.start.isoformat()} – {config.end.isoformat()}, seed {config.seed}",
        f"Hours:  {hours}",
        f"Faults: {', '.join(faults)}",
        "",
        "Press Ctrl+C to stop.",
    ]
    return "\n".join(lines)


def _period(start: date | None, end: date | None) -> tuple[date, date]:
    """The generated period: defaults to the month of whichever end is given, else this month."""
    anchor = start or end or date.today()
    first = start or anchor.replace(day=1)
    last = end or anchor.replace(day=calendar.monthrange(anchor.year, anchor.month)[1])
    if last < first:
        raise click.BadParameter(f"{last} is before {first}", param_hint="--to")
    return first, last


def _wait_for_interrupt() -> None:
    while True:
        time.sleep(3600)
