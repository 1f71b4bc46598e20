"""Helpers of the benchmark scripts in bench/ (not part of the service, not run by `make test`)."""
