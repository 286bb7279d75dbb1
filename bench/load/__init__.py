"""The load test: a Locust scenario against real processes, its runner and its report."""
