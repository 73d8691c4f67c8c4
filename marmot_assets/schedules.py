"""Schedules at the publishers' own cadences.

OHID publishes Fingertips updates on the first Tuesday of each month. Cron cannot say "first
Tuesday" (a day-of-month and a day-of-week field are OR-ed, not AND-ed), so the schedule ticks
every Tuesday and skips the ticks that fall after the 7th.
"""

from __future__ import annotations

from datetime import datetime

import dagster as dg

FINGERTIPS_SCHEDULE = "ohid_fingertips__schedule"
TIMEZONE = "Europe/London"


def is_first_of_its_weekday_in_month(moment: datetime) -> bool:
    """True on the first Monday, Tuesday, ... of a month: the day of the month is 1-7."""
    return moment.day <= 7


def fingertips_schedule(target: dg.AssetSelection) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=FINGERTIPS_SCHEDULE,
        target=target,
        cron_schedule="0 9 * * 2",  # Tuesdays 09:00, after the morning's release
        execution_timezone=TIMEZONE,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Fingertips publishes monthly, on the first Tuesday: fetch its values "
        "and rebuild what depends on them (the other Tuesdays are skipped).",
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        when = context.scheduled_execution_time
        if not is_first_of_its_weekday_in_month(when):
            return dg.SkipReason(f"{when:%d %B} is not the first Tuesday of the month")
        return dg.RunRequest(run_key=f"fingertips-{when:%Y-%m}")

    return _schedule
