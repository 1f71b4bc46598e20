"""Today or a chosen range of days: the same figures as `ivr report` (store.report.build), a chart, CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Response, render_template, request

from ivr.console.pages import BadRange, bp, day_range
from ivr.ops.db import csv_rows
from ivr.store import extension as store
from ivr.store import report

HOURS = [f"{h:02d}" for h in range(24)]


def figures_for(start: str | None, end: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    """The report for the Tokyo days asked for, and the range as the form shows it."""
    first, last, begin, stop = day_range(start, end)
    return report.build(store.engine(), begin, stop), {"from": first.isoformat(), "to": last.isoformat()}


@bp.get("/figures")
def figures() -> tuple[str, int] | str:
    """Calls per hour, deflection, answers ranked, agent requests, transfers, hang-ups, repeat callers."""
    try:
        data, shown = figures_for(request.args.get("from"), request.args.get("to"))
    except BadRange as error:
        return render_template("console/figures.html", error=str(error), data=None, shown=request.args), 400
    per_hour = [data["calls_per_hour"].get(hour, 0) for hour in HOURS]
    return render_template(
        "console/figures.html", error=None, data=data, shown=shown, hours=HOURS, per_hour=per_hour
    )


@bp.get("/figures.csv")
def figures_csv() -> Response:
    """The same rows as `ivr report --format csv`, for the range asked for."""
    try:
        data, shown = figures_for(request.args.get("from"), request.args.get("to"))
    except BadRange as error:
        return Response(str(error), 400, mimetype="text/plain")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "key", "value"))
    writer.writerows(csv_rows(data))
    name = f"hotline-report-{shown['from']}-{shown['to']}.csv"
    return Response(
        "\ufeff" + out.getvalue(),  # a BOM: Excel in Japan then reads it as UTF-8
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
