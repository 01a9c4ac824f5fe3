"""Write a sample of Oura's member data export: one made-up person's days, in Oura's format.

Oura's export is one file per kind of document (daily sleep, sleep periods, readiness, activity,
SpO2, stress, heart rate, workouts): semicolon-separated CSV with Oura's field names as the header
and nested objects written as JSON in their cell. This writes such files for the days up to a given
day (today by default), from a fixed seed, so `scripts/develop` shows months of history at once and
tests can read a real-shaped export. Nothing here is anyone's real data.

Run: python scripts/oura_sample_export.py OUT_DIR [--days 120] [--heart-rate-days 14]
     [--end 2026-11-25]
"""

from __future__ import annotations

import argparse
import csv
from datetime import UTC, date, datetime, time, timedelta, timezone
import json
import math
from pathlib import Path
import random
import uuid

ZONE = timezone(timedelta(hours=1))  # the sample person lives in Central European time
NAMESPACE = uuid.UUID("8f2b9a52-3c1e-4b7f-9d0a-1e2f3a4b5c6d")


def _id(kind: str, day: date) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}/{day.isoformat()}"))


def _write(path: Path, rows: list[dict[str, object]]) -> None:
    if not rows:
        return
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    key: json.dumps(value) if isinstance(value, dict | list) else value
                    for key, value in row.items()
                }
            )


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def build(
    end: date, days: int, heart_rate_days: int, seed: int = 7
) -> dict[str, list[dict[str, object]]]:
    """Every file's rows for the `days` days ending with `end`."""
    rng = random.Random(seed)
    files: dict[str, list[dict[str, object]]] = {
        name: []
        for name in (
            "dailysleep",
            "sleep",
            "dailyreadiness",
            "dailyactivity",
            "dailyspo2",
            "dailystress",
            "heartrate",
            "workout",
        )
    }
    for index in range(days):
        day = end - timedelta(days=days - 1 - index)
        weekend = day.weekday() >= 5
        season = math.sin(index / 9.0)
        total = int(
            _clamp(rng.gauss(7.2 + (0.6 if weekend else 0) + 0.3 * season, 0.5), 5, 9.5) * 3600
        )
        deep = int(total * rng.uniform(0.15, 0.23))
        rem = int(total * rng.uniform(0.19, 0.26))
        light = total - deep - rem
        awake = int(rng.uniform(15, 55) * 60)
        latency = int(rng.uniform(4, 25) * 60)
        bedtime_start = datetime.combine(day - timedelta(days=1), time(22, 40), tzinfo=ZONE)
        bedtime_start += timedelta(minutes=rng.randint(-40, 70))
        bedtime_end = bedtime_start + timedelta(seconds=total + awake + latency)
        hrv = int(_clamp(rng.gauss(48 + 6 * season, 7), 20, 90))
        lowest = int(_clamp(rng.gauss(51 - 2 * season, 2.5), 40, 65))
        sleep_score = int(_clamp(50 + (total / 3600 - 5.5) * 10 + rng.gauss(0, 5), 35, 97))
        readiness = int(_clamp(sleep_score * 0.6 + hrv * 0.5 + rng.gauss(5, 5), 30, 98))
        efficiency = int(_clamp(100 * total / (total + awake + latency), 70, 98))
        temperature = round(rng.gauss(0, 0.25), 2)
        files["dailysleep"].append(
            {
                "id": _id("daily_sleep", day),
                "contributors": {
                    "deep_sleep": int(_clamp(deep / 60, 40, 100)),
                    "efficiency": efficiency,
                    "latency": int(_clamp(100 - latency / 60, 50, 100)),
                    "rem_sleep": int(_clamp(rem / 60 - 10, 40, 100)),
                    "restfulness": rng.randint(60, 95),
                    "timing": rng.randint(50, 100),
                    "total_sleep": int(_clamp(total / 3600 * 12, 40, 100)),
                },
                "day": day.isoformat(),
                "score": sleep_score,
                "timestamp": datetime.combine(day, time(0), tzinfo=ZONE).isoformat(),
            }
        )
        files["sleep"].append(
            {
                "id": _id("sleep", day),
                "average_breath": round(rng.uniform(13.5, 15.5), 3),
                "average_heart_rate": round(lowest + rng.uniform(3, 7), 3),
                "average_hrv": hrv,
                "awake_time": awake,
                "bedtime_end": bedtime_end.isoformat(),
                "bedtime_start": bedtime_start.isoformat(),
                "day": day.isoformat(),
                "deep_sleep_duration": deep,
                "efficiency": efficiency,
                "latency": latency,
                "light_sleep_duration": light,
                "lowest_heart_rate": lowest,
                "period": 0,
                "rem_sleep_duration": rem,
                "restless_periods": rng.randint(150, 320),
                "time_in_bed": total + awake + latency,
                "total_sleep_duration": total,
                "type": "long_sleep",
            }
        )
        files["dailyreadiness"].append(
            {
                "id": _id("daily_readiness", day),
                "contributors": {
                    "activity_balance": rng.randint(60, 95),
                    "body_temperature": int(_clamp(100 - abs(temperature) * 60, 50, 100)),
                    "hrv_balance": int(_clamp(hrv * 1.5, 30, 100)),
                    "previous_day_activity": rng.randint(55, 98),
                    "previous_night": sleep_score,
                    "recovery_index": rng.randint(50, 100),
                    "resting_heart_rate": int(_clamp(150 - lowest * 1.5, 40, 100)),
                    "sleep_balance": rng.randint(60, 95),
                },
                "day": day.isoformat(),
                "score": readiness,
                "temperature_deviation": temperature,
                "temperature_trend_deviation": round(temperature * 0.4, 2),
                "timestamp": datetime.combine(day, time(0), tzinfo=ZONE).isoformat(),
            }
        )
        steps = int(_clamp(rng.gauss(11000 if weekend else 8200, 2500), 1500, 25000))
        active_calories = int(steps * rng.uniform(0.035, 0.05))
        files["dailyactivity"].append(
            {
                "id": _id("daily_activity", day),
                "active_calories": active_calories,
                "average_met_minutes": round(rng.uniform(1.3, 1.9), 4),
                "contributors": {
                    "meet_daily_targets": rng.randint(40, 100),
                    "move_every_hour": rng.randint(60, 100),
                    "recovery_time": rng.randint(70, 100),
                    "stay_active": rng.randint(50, 95),
                    "training_frequency": rng.randint(60, 100),
                    "training_volume": rng.randint(60, 100),
                },
                "day": day.isoformat(),
                "equivalent_walking_distance": int(steps * 0.78),
                "high_activity_time": rng.randint(0, 1800),
                "low_activity_time": rng.randint(12000, 20000),
                "medium_activity_time": rng.randint(1200, 5400),
                "score": int(_clamp(55 + steps / 500 + rng.gauss(0, 4), 30, 99)),
                "sedentary_time": rng.randint(20000, 36000),
                "steps": steps,
                "target_calories": 500,
                "timestamp": datetime.combine(day, time(4), tzinfo=ZONE).isoformat(),
                "total_calories": 2100 + active_calories,
            }
        )
        files["dailyspo2"].append(
            {
                "id": _id("daily_spo2", day),
                "breathing_disturbance_index": rng.randint(2, 14),
                "day": day.isoformat(),
                "spo2_percentage": {"average": round(rng.uniform(95.2, 98.4), 3)},
            }
        )
        stress_high = rng.randint(0, 180) * 60
        files["dailystress"].append(
            {
                "id": _id("daily_stress", day),
                "day": day.isoformat(),
                "day_summary": "stressful" if stress_high > 7200 else "normal",
                "recovery_high": rng.randint(0, 240) * 60,
                "stress_high": stress_high,
            }
        )
        if rng.random() < 0.4:
            start = datetime.combine(day, time(17, 30), tzinfo=ZONE)
            start += timedelta(minutes=rng.randint(0, 90))
            minutes = rng.randint(25, 80)
            activity = rng.choice(("running", "cycling", "walking", "strength_training"))
            files["workout"].append(
                {
                    "id": _id("workout", day),
                    "activity": activity,
                    "calories": round(minutes * rng.uniform(6, 11), 1),
                    "day": day.isoformat(),
                    "distance": None if activity == "strength_training" else minutes * 150.0,
                    "end_datetime": (start + timedelta(minutes=minutes)).isoformat(),
                    "intensity": rng.choice(("easy", "moderate", "hard")),
                    "label": None,
                    "source": "autodetected",
                    "start_datetime": start.isoformat(),
                }
            )
        if index >= days - heart_rate_days:
            moment = datetime.combine(day, time(0), tzinfo=ZONE).astimezone(UTC)
            for step in range(288):
                at = moment + timedelta(minutes=5 * step, seconds=rng.randint(0, 40))
                hour = at.astimezone(ZONE).hour
                asleep = hour < 7 or hour >= 23
                bpm = rng.gauss(lowest + 4, 2) if asleep else rng.gauss(72, 9)
                files["heartrate"].append(
                    {
                        "bpm": int(_clamp(bpm, 38, 180)),
                        "source": "sleep" if asleep else "awake",
                        "timestamp": at.isoformat(),
                    }
                )
    return files


def write_export(out: Path, *, end: date, days: int, heart_rate_days: int) -> list[Path]:
    """Write the export's files into `out` (created if needed); returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, rows in build(end, days, heart_rate_days).items():
        path = out / f"{name}.csv"
        _write(path, rows)
        written.append(path)
    return written


def main() -> None:
    """Write the sample export where the command line says."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the CSV files into")
    parser.add_argument("--days", type=int, default=120, help="days of daily data (default 120)")
    parser.add_argument(
        "--heart-rate-days", type=int, default=14, help="days of 5-minute heart rate (default 14)"
    )
    parser.add_argument("--end", type=date.fromisoformat, default=None, help="last day (today)")
    args = parser.parse_args()
    end = args.end or datetime.now(ZONE).date()
    for path in write_export(
        args.out, end=end, days=args.days, heart_rate_days=args.heart_rate_days
    ):
        print(path)


if __name__ == "__main__":
    main()
