"""Reading the service's Prometheus text in tests."""

from __future__ import annotations


def requests_counted(metrics: str, method: str, status: str) -> float:
    """``sessionshot_http_requests_total`` summed over the paths of one method and status."""
    total = 0.0
    for line in metrics.splitlines():
        if not line.startswith("sessionshot_http_requests_total{"):
            continue
        if f'status="{status}"' in line and f'method="{method}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def gauge(metrics: str, name: str) -> float:
    """A gauge's value in a Prometheus text answer."""
    line = next(row for row in metrics.splitlines() if row.startswith(name + " "))
    return float(line.split()[1])
