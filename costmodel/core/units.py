"""Calendar constants shared by every kernel: a month is a twelfth of a Julian year."""

HOURS_PER_MONTH = 365.25 * 24 / 12  # 730.5
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600.0
