"""``simulator``: run the fake Jobcan in the foreground and tell the admin what to type into the hub."""

from __future__ import annotations

import calendar
import time
from datetime import date, datetime

import click

from hub_plugins.jobcan.simulator.data import SCOPES, SimulatorConfig
from hub_plugins.jobcan.simulator.server import JobcanSimulator


class _RetryAfter(click.ParamType):
    """Seconds, or ``none`` to leave the Retry-After header out."""

    name = "SECONDS|none"

    def convert(self, value, param, ctx):
        if value is None or isinstance(value, int):
            return value
        if str(value).lower() == "none":
            return None
        try:
            seconds = int(value)
        except ValueError:
            self.fail(f"{value!r} is neither a number of seconds nor 'none'", param, ctx)
        if seconds < 0:
            self.fail("Retry-After cannot be negative", param, ctx)
        return seconds


_DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.command("simulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8750, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--employees", default=30, show_default=True, type=click.IntRange(min=0), help="Number of employees.")
@click.option("--from", "start", type=_DATE, help="First day with data, YYYY-MM-DD [default: 1st of this month].")
@click.option("--to", "end", type=_DATE, help="Last day with data, YYYY-MM-DD [default: end of --from's month].")
@click.option("--seed", default=1, show_default=True, type=int, help="Same seed, same data and secret.")
@click.option("--empty-codes", default=1, show_default=True, type=click.IntRange(min=0),
              help="Employees without a staff code.")  # fmt: skip
@click.option("--latency-ms", default=0.0, show_default=True, type=click.FloatRange(min=0),
              help="Delay added to every response.")  # fmt: skip
@click.option("--rate-429", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Probability an API call answers 429.")  # fmt: skip
@click.option("--retry-after", default="1", show_default=True, type=_RetryAfter(),
              help="Retry-After on random 429s; 'none' omits the header.")  # fmt: skip
@click.option("--rate-5xx", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Probability an API call answers 500/502/503.")  # fmt: skip
@click.option("--token-lifetime", default=3600, show_default=True, type=click.IntRange(min=1),
              help="Seconds before a token answers 401.")  # fmt: skip
@click.option("--refresh-polls", default=0, show_default=True, type=click.IntRange(min=0),
              help="Times a summary refresh answers 'processing' before 'finished'.")  # fmt: skip
@click.option("--missing-scope", multiple=True, type=click.Choice(SCOPES),
              help="A scope the client was not given (repeatable).")  # fmt: skip
@click.option("--rate-limit-rps", type=click.FloatRange(min=0, min_open=True),
              help="Token bucket: R requests a second, bursts of R, then 429 with Retry-After.")  # fmt: skip
@click.option("--burst-429", default=0, show_default=True, type=click.IntRange(min=0),
              help="N: the last N of every --burst-every calls answer 429.")  # fmt: skip
@click.option("--burst-every", default=0, show_default=True, type=click.IntRange(min=0),
              help="M for --burst-429; 0: no bursts.")  # fmt: skip
@click.option("--drop-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Probability a call's connection is closed without an answer.")  # fmt: skip
@click.option("--slow-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Probability an answer comes --slow-ms late.")  # fmt: skip
@click.option("--slow-ms", default=0.0, show_default=True, type=click.FloatRange(min=0),
              help="Delay of a slow answer.")  # fmt: skip
@click.option("--faults-on-token", is_flag=True,
              help="Bursts and random faults hit the token endpoint too.")  # fmt: skip
def simulator_command(
    host: str,
    port: int,
    employees: int,
    start: datetime | None,
    end: datetime | None,
    seed: int,
    empty_codes: int,
    latency_ms: float,
    rate_429: float,
    retry_after: int | None,
    rate_5xx: float,
    token_lifetime: int,
    refresh_polls: int,
    missing_scope: tuple[str, ...],
    rate_limit_rps: float | None,
    burst_429: int,
    burst_every: int,
    drop_rate: float,
    slow_rate: float,
    slow_ms: float,
    faults_on_token: bool,
) -> None:
    """Run a fake Jobcan API with generated attendance data until Ctrl+C."""
    first, last = _period(start.date() if start else None, end.date() if end else None)
    if rate_429 + rate_5xx > 1:
        raise click.UsageError("--rate-429 plus --rate-5xx cannot exceed 1")
    if burst_429 > burst_every:
        raise click.UsageError("--burst-429 cannot exceed --burst-every")
    config = SimulatorConfig(
        employees=employees,
        start=first,
        end=last,
        seed=seed,
        granted_scopes=tuple(scope for scope in SCOPES if scope not in missing_scope),
        token_lifetime=token_lifetime,
        latency_ms=latency_ms,
        rate_429=rate_429,
        retry_after=retry_after,
        rate_5xx=rate_5xx,
        refresh_polls=refresh_polls,
        empty_codes=empty_codes,
        rate_limit_rps=rate_limit_rps,
        burst_429_length=burst_429,
        burst_429_every=burst_every,
        drop_rate=drop_rate,
        slow_rate=slow_rate,
        slow_ms=slow_ms,
        faults_on_token=faults_on_token,
    )
    simulator = JobcanSimulator(config, port=port, host=host, log_requests=True)
    try:
        simulator.start()
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error}") from error
    try:
        click.echo(connection_instructions(simulator))
        _wait_for_interrupt()
    except KeyboardInterrupt:
        click.echo("\nJobcan simulator stopped.")
    finally:
        simulator.stop()


def connection_instructions(simulator: JobcanSimulator) -> str:
    """What to type into the hub's Jobcan settings to use this simulator, and what it serves."""
    config = simulator.config
    codes = [e["employee_code"] for e in simulator.data.employees if e["employee_code"]]
    without = len(simulator.data.employees) - len(codes)
    staff = f"{len(simulator.data.employees)} employees"
    if codes:
        staff += f" {codes[0]}–{codes[-1]}"
    if without:
        staff += f"; {without} without a code"
    missing = [scope for scope in SCOPES if scope not in config.granted_scopes]
    faults = [
        f"latency {config.latency_ms:g} ms",
        f"429 rate {config.rate_429:g} (Retry-After {'omitted' if config.retry_after is None else config.retry_after})",
        f"5xx rate {config.rate_5xx:g}",
        f"token lifetime {config.token_lifetime} s",
        f"refresh answers 'processing' {config.refresh_polls}×",
    ]
    if config.rate_limit_rps:
        faults.append(f"rate limit {config.rate_limit_rps:g} requests/s")
    if config.burst_429_every:
        faults.append(f"429 on the last {config.burst_429_length} of every {config.burst_429_every} calls")
    if config.drop_rate or config.slow_rate:
        faults.append(f"drop rate {config.drop_rate:g}, {config.slow_rate:g} answered {config.slow_ms:g} ms late")
    if config.faults_on_token:
        faults.append("the token endpoint too")
    lines = [
        f"Jobcan simulator listening on {simulator.url}",
        "",
        "Enter these in the hub's Jobcan settings:",
        "  環境 / Environment:                custom",
        f"  API base URL:                      {simulator.url}",
        f"  認証ベースURL / Auth base URL:     {simulator.url}",
        f"  ID (client ID):                    {simulator.client_id}",
        f"  シークレットアクセスキー / Secret: {simulator.client_secret}",
        "",
        f"Data:   {staff}",
        f"        {config.start.isoformat()} – {config.end.isoformat()}, seed {config.seed}",
        f"Scopes: {' '.join(config.granted_scopes) or '(none)'}"
        + (f"  (not granted: {' '.join(missing)})" if missing else ""),
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
