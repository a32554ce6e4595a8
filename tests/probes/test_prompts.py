"""Synthetic prompts: the word count that hits a token target on the server's own count."""

from __future__ import annotations

from probes.prompts import calibrate_words


def test_calibration_fits_template_overhead():
    # a server that counts 12 template tokens plus 1.5 tokens per word
    def count(text: str) -> int:
        return 12 + round(1.5 * (len(text.split()) - 1))

    words = calibrate_words(count, 312)
    assert abs(count("x " + "w " * words) - 312) <= 2
    assert calibrate_words(lambda _t: None, 100) == 100  # no usage reported: one word per token
