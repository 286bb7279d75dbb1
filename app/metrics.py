"""Prometheus metrics of one process, on a registry of its own (no module globals)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from captures.service import QueueFigures


class Metrics:
    """The service's counters, gauges and histograms."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        reg = self.registry
        self.requests = Counter(
            "sessionshot_http_requests", "HTTP requests", ["method", "status"], registry=reg
        )
        self.active_sessions = Gauge(
            "sessionshot_active_sessions", "Live sessions on this instance", registry=reg
        )
        self.session_starts = Counter(
            "sessionshot_session_starts", "Sessions started", ["kind"], registry=reg
        )
        self.action_latency = Histogram(
            "sessionshot_action_seconds", "Action latency", ["type"], registry=reg
        )
        # Capture figures are service-wide: read from Redis when scraped.
        self.captures = Gauge(
            "sessionshot_captures_final", "Captures by final status", ["status"], registry=reg
        )
        self.capture_latency = Gauge(
            "sessionshot_capture_latency_seconds_sum",
            "Sum of capture latencies, queued to final",
            registry=reg,
        )
        self.queue_depth = Gauge(
            "sessionshot_capture_queue_depth", "Capture jobs waiting", registry=reg
        )
        self.routed_requests = Counter(
            "sessionshot_routed_requests", "Requests forwarded to an owner", registry=reg
        )
        self.credits_billed = Counter(
            "sessionshot_credits_billed", "Credits billed at session close", registry=reg
        )
        self.warm_contexts = Gauge(
            "sessionshot_warm_contexts",
            "Pre-made contexts ready for sessions with default options",
            registry=reg,
        )

        self.connect_warm = Gauge(
            "sessionshot_connect_warm_browsers",
            "Browsers launched and waiting for connect sessions",
            registry=reg,
        )
        self.connect_memory = Gauge(
            "sessionshot_connect_memory_bytes",
            "Resident memory of the connect sessions' browsers here, warm ones included",
            registry=reg,
        )

    def watch_warm_pool(self, size: Callable[[], int]) -> None:
        """Read the warm pool's size when scraped."""
        self.warm_contexts.set_function(size)

    def watch_connect(self, warm: Callable[[], int], memory_bytes: Callable[[], int]) -> None:
        """Read the connect browsers' count and memory when scraped."""
        self.connect_warm.set_function(warm)
        self.connect_memory.set_function(memory_bytes)

    def show_captures(self, figures: QueueFigures) -> None:
        """Set the service-wide capture gauges to what Redis answered."""
        if figures.finals is not None:
            for status, count in figures.finals.items():
                self.captures.labels(status).set(count)
        if figures.latency_s_sum is not None:
            self.capture_latency.set(figures.latency_s_sum)
        if figures.depth is not None:
            self.queue_depth.set(figures.depth)

    # The sessions engine's observer interface.

    def session_started(self, kind: str) -> None:
        """A session was created here."""
        self.session_starts.labels(kind).inc()
        self.active_sessions.inc()

    def session_closed(self, kind: str, credits: int) -> None:
        """A session was closed and billed here."""
        self.active_sessions.dec()
        self.credits_billed.inc(credits)

    def action_done(self, action: str, seconds: float) -> None:
        """An action finished."""
        self.action_latency.labels(action).observe(seconds)

    def request_routed(self) -> None:
        """A request was forwarded to another instance."""
        self.routed_requests.inc()

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
