"""Peak control for float samples: a soft look-ahead limiter and a soft clipper."""

from __future__ import annotations

import numpy as np

from .wavfile import Samples

_LIMITER_WINDOW_S = 0.005
_KNEE = 0.7  # soft clipping starts 3 dB under the ceiling


def limit_peaks(samples: Samples, rate: int, ceiling: float) -> Samples:
    """Keep |samples| <= ceiling with a gain that glides down and back up over about 5 ms."""
    need = np.minimum(1.0, ceiling / np.maximum(np.abs(samples), 1e-12))
    if need.min() >= 1.0:
        return samples
    w = max(1, round(rate * _LIMITER_WINDOW_S))
    # running minimum over +-w, then a moving average over +-w: each averaged value is the
    # minimum of a window that holds the sample, so the smooth gain never exceeds `need`
    padded = np.pad(need, w, constant_values=1.0)
    gain = need.copy()
    for k in range(2 * w + 1):
        np.minimum(gain, padded[k : k + len(need)], out=gain)
    csum = np.concatenate(([0.0], np.cumsum(np.pad(gain, w, mode="edge"))))
    smooth = (csum[2 * w + 1 :] - csum[: -(2 * w + 1)]) / (2 * w + 1)
    return samples * np.minimum(smooth, need)


def soft_clip(samples: Samples, ceiling: float) -> Samples:
    """Bend samples above 70 % of the ceiling smoothly (tanh) so that none exceeds it."""
    knee = _KNEE * ceiling
    magnitude = np.abs(samples)
    bent = knee + (ceiling - knee) * np.tanh((magnitude - knee) / (ceiling - knee))
    return np.where(magnitude > knee, np.sign(samples) * bent, samples)
