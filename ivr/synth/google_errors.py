"""Google errors: which to retry (the client retries nothing by default); the rest as a SynthesisError."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .interface import SynthesisError, shorten

if TYPE_CHECKING:
    from google.api_core.retry import Retry

CREDENTIALS_HINT = (
    "Google credentials not found: set GOOGLE_APPLICATION_CREDENTIALS to the path of a service "
    "account key file, or run `gcloud auth application-default login`"
)


def is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying: rate limits, unavailability, timeouts, server faults."""
    import requests
    from google.api_core import exceptions as api

    # over REST a 504 arrives as GatewayTimeout, the parent of gRPC's DeadlineExceeded;
    # a dropped connection or read timeout arrives as a plain `requests` exception
    transient = (
        api.TooManyRequests,
        api.ServiceUnavailable,
        api.GatewayTimeout,
        api.InternalServerError,
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
    )
    return isinstance(exc, transient)


def retry_policy(initial_s: float, maximum_s: float, deadline_s: float) -> Retry:
    """Retry transient errors with backoff doubling from `initial_s` to `maximum_s`, for `deadline_s`."""
    from google.api_core.retry import Retry

    return Retry(
        predicate=is_transient, initial=initial_s, maximum=maximum_s, multiplier=2.0, timeout=deadline_s
    )


def _server_message(exc: BaseException) -> str:
    message = str(getattr(exc, "message", "") or exc)
    return re.sub(r"^[A-Z]+ \S+: ", "", message)  # REST errors start with "POST <url>: "


@contextmanager
def translated(where: str, text: str, deadline_s: float) -> Iterator[None]:
    """Re-raise client and auth errors from the block as a SynthesisError naming `where` and `text`."""
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    said = f"「{shorten(text)}」"
    try:
        yield
    except auth.DefaultCredentialsError as exc:
        raise SynthesisError(f"{CREDENTIALS_HINT} ({exc})") from exc
    except (auth.RefreshError, api.Unauthorized, api.Forbidden) as exc:
        raise SynthesisError(
            f"Google refused the credentials for {where}: {_server_message(exc)} — check "
            "GOOGLE_APPLICATION_CREDENTIALS and that the Text-to-Speech API is enabled for the project"
        ) from exc
    except api.BadRequest as exc:  # InvalidArgument over gRPC, a plain 400 over REST
        raise SynthesisError(f"Google TTS rejected {where} {said}: {_server_message(exc)}") from exc
    except api.RetryError as exc:
        cause = _server_message(exc.cause) if exc.cause else str(exc)
        raise SynthesisError(
            f"Google TTS kept failing for {where} {said} for {deadline_s:g} s: {cause}"
        ) from exc
    except (api.GoogleAPICallError, auth.GoogleAuthError) as exc:
        raise SynthesisError(f"Google TTS failed for {where} {said}: {_server_message(exc)}") from exc
    except OSError as exc:  # requests' errors are OSErrors: a connection that never worked
        raise SynthesisError(f"could not reach Google TTS for {where}: {exc}") from exc
