"""Call recordings as real WAV files (8 kHz, 16-bit, mono), written as the call happens.

Nothing in the emulator has real audio, so a recording is a faithful *timeline*: speech (TTS)
is a soft two-tone warble, played audio a steady 660 Hz tone, key presses real DTMF dual tones
and everything else silence. Durations match the call, so a 41 s conversation gives a 41 s WAV.
Frames stream straight to a file in the engine's temp dir (memory stays bounded) and a
recording stops growing at :data:`MAX_RECORDING_SECONDS`.
"""

from __future__ import annotations

import math
import wave
from array import array
from datetime import datetime
from pathlib import Path

RATE = 8000
MAX_RECORDING_SECONDS = 3600.0  # one hour (≈ 57 MB); longer calls keep their first hour
MAX_SEGMENT_SECONDS = 120.0
_AMPLITUDE = 6000
_CHUNK = RATE  # silence is written one second at a time

DTMF_FREQS: dict[str, tuple[float, float]] = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477),
    "4": (770, 1209), "5": (770, 1336), "6": (770, 1477),
    "7": (852, 1209), "8": (852, 1336), "9": (852, 1477),
    "*": (941, 1209), "0": (941, 1336), "#": (941, 1477),
}  # fmt: skip
DTMF_SECONDS = 0.1


def _tone(seconds: float, freqs: tuple[float, ...], amplitude: int = _AMPLITUDE) -> array[int]:
    count = int(seconds * RATE)
    share = amplitude / max(1, len(freqs))
    steps = [2 * math.pi * f / RATE for f in freqs]
    return array("h", (int(share * sum(math.sin(s * i) for s in steps)) for i in range(count)))


class Recorder:
    """Writes one call's recording; positions every sound at its simulated time."""

    def __init__(self, path: Path, started: datetime) -> None:
        self.path = path
        self.started = started
        self._written = 0  # frames
        self._limit = int(MAX_RECORDING_SECONDS * RATE)
        self._wav: wave.Wave_write | None = wave.open(str(path), "wb")  # noqa: SIM115 - kept open for the whole call
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(RATE)

    @property
    def seconds(self) -> float:
        """Length written so far."""
        return self._written / RATE

    def _frame_at(self, at: datetime) -> int:
        return int((at - self.started).total_seconds() * RATE)

    def _write(self, samples: array[int]) -> None:
        if self._wav is None:
            return
        room = self._limit - self._written
        if room <= 0:
            return
        if len(samples) > room:
            samples = samples[:room]
        self._wav.writeframes(samples.tobytes())
        self._written += len(samples)

    def _silence_until(self, at: datetime) -> None:
        gap = min(self._frame_at(at), self._limit) - self._written
        while gap > 0:
            step = min(gap, _CHUNK)
            self._write(array("h", bytes(2 * step)))
            gap -= step

    def speech(self, at: datetime, seconds: float) -> None:
        """TTS: alternate two tones every 0.25 s so it is audibly "talking"."""
        self._silence_until(at)
        remaining = min(seconds, MAX_SEGMENT_SECONDS)
        pitches = ((220.0, 440.0), (247.0, 494.0))
        index = 0
        while remaining > 0:
            step = min(0.25, remaining)
            self._write(_tone(step, pitches[index % 2]))
            remaining -= step
            index += 1

    def audio(self, at: datetime, seconds: float) -> None:
        """Played audio (its content is not fetched): a steady tone for its duration."""
        self._silence_until(at)
        self._write(_tone(min(seconds, MAX_SEGMENT_SECONDS), (660.0,)))

    def dtmf(self, at: datetime, key: str) -> None:
        """One key press as its real DTMF dual tone."""
        freqs = DTMF_FREQS.get(key)
        if freqs is None:
            return
        self._silence_until(at)
        self._write(_tone(DTMF_SECONDS, freqs))

    def close(self, at: datetime) -> Path:
        """Pad with silence up to ``at`` and finish the file (idempotent)."""
        if self._wav is not None:
            self._silence_until(at)
            self._wav.close()
            self._wav = None
        return self.path
