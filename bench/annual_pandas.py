#!/usr/bin/env python3
"""Annual air assessment of 1,000 station-years of hourly data with pandas/numpy — the same rules as
`crates/standards/benches/annual.rs`, written the straightforward way, for a speed comparison.

Rules (HJ 633-2012, GB 3095-2012, HJ 663-2013, 环办监测〔2018〕19号): daily mean with >= 20 valid hours; O3 8-h windows of the day with >= 6 valid hours,
daily max valid with >= 14 of 17 windows or above 160; daily values rounded half to even (integers, CO one
decimal); IAQI of HJ 633-2012 rounded up (including the O3 daily max 1-h of the 2012 daily report), AQI = max; a day counts when all six daily values are valid; good days
AQI <= 100, heavy days AQI > 200; annual means, percentiles (numpy "linear" = HJ 663 k = 1 + (n-1)p),
attainment against GB 3095-2012 Class 2 and the composite index.

Floats are used throughout (as a pandas user would); the Rust engine is exact.

Usage:
    python3 bench/annual_pandas.py                      # 1,000 station-years, prints the timing
    python3 bench/annual_pandas.py --station-years 50   # smaller run
    python3 bench/annual_pandas.py --beijing DIR --year 2016
        # per-station good days, PM2.5 mean and O3-P90 of the UCI Beijing files, to compare with
        # `qingshan assess air --per-station`
"""

import argparse
import glob
import time

import numpy as np
import pandas as pd

POLLUTANTS = ["SO2", "NO2", "PM10", "PM2.5", "CO", "O3"]
IAQI_ROWS = np.array([0, 50, 100, 150, 200, 300, 400, 500], dtype=float)
BREAKPOINTS_2012 = {
    "SO2": [0, 50, 150, 475, 800, 1600, 2100, 2620],
    "NO2": [0, 40, 80, 180, 280, 565, 750, 940],
    "PM10": [0, 50, 150, 250, 350, 420, 500, 600],
    "PM2.5": [0, 35, 75, 115, 150, 250, 350, 500],
    "CO": [0, 2, 4, 14, 24, 36, 48, 60],
    "O3_8h": [0, 100, 160, 215, 265, 800],
    "O3_1h": [0, 160, 200, 300, 400, 800, 1000, 1200],
}
ANNUAL_LIMIT = {"SO2": 60, "NO2": 40, "PM10": 70, "PM2.5": 35}
DAILY_LIMIT = {"SO2": 150, "NO2": 80, "PM10": 150, "PM2.5": 75, "CO": 4, "O3": 160}
PERCENTILE = {"SO2": 98, "NO2": 98, "PM10": 95, "PM2.5": 95, "CO": 95, "O3": 90}
COMPOSITE_DENOMINATOR = {"SO2": 60, "NO2": 40, "PM10": 70, "PM2.5": 35, "CO": 4, "O3": 160}


def synthetic_hours(station_years, days=365, seed=7):
    """A long DataFrame (station, day, hour, six pollutants) with ~3 % missing hours."""
    rng = np.random.default_rng(seed)
    n = station_years * days * 24
    typical = np.array([12.0, 40.0, 90.0, 60.0, 1.0, 80.0])
    episode = np.repeat(0.3 + rng.integers(0, 1000, station_years * days) / 400.0, 24)
    hour = np.tile(np.arange(24), station_years * days)
    data = {}
    for i, name in enumerate(POLLUTANTS):
        diurnal = 0.4 + 1.2 * np.exp(-(((hour - 14.0) / 4.0) ** 2)) if name == "O3" else 1.0
        values = typical[i] * episode * diurnal * (0.7 + rng.integers(0, 600, n) / 1000.0)
        values = np.round(values, 1) if name == "CO" else np.round(values)
        values[rng.integers(0, 100, n) < 3] = np.nan
        data[name] = values
    frame = pd.DataFrame(data)
    frame["station"] = np.repeat(np.arange(station_years), days * 24)
    frame["day"] = np.tile(np.repeat(np.arange(days), 24), station_years)
    frame["hour"] = hour
    return frame


def iaqi(concentration, breakpoints):
    bp = np.asarray(breakpoints, dtype=float)
    rows = IAQI_ROWS[: len(bp)]
    c = np.asarray(concentration, dtype=float)
    upper = np.clip(np.searchsorted(bp, c, side="left"), 1, len(bp) - 1)
    lo, hi = bp[upper - 1], bp[upper]
    value = rows[upper - 1] + (rows[upper] - rows[upper - 1]) / (hi - lo) * (c - lo)
    value = np.where(c == 0, 0.0, value)
    value = np.where(c > bp[-1], np.nan, value)  # above the table: undefined
    return np.ceil(value)


def daily_values(hours):
    grouped = hours.groupby(["station", "day"], sort=True)
    means = grouped[POLLUTANTS[:5]].mean()
    counts = grouped[POLLUTANTS[:5]].count()
    daily = means.where(counts >= 20)
    # O3 8-h windows within the day: rolling over each day's 24 hours.
    o3 = hours["O3"].to_numpy().reshape(-1, 24)
    valid = ~np.isnan(o3)
    sums = np.stack([np.nansum(o3[:, s : s + 8], axis=1) for s in range(17)], axis=1)
    counts8 = np.stack([valid[:, s : s + 8].sum(axis=1) for s in range(17)], axis=1)
    windows = np.where(counts8 >= 6, sums / np.maximum(counts8, 1), np.nan)
    valid_windows = (counts8 >= 6).sum(axis=1)
    with np.errstate(all="ignore"):
        max8 = np.nanmax(np.where(np.isnan(windows), -np.inf, windows), axis=1)
    max8 = np.where(valid_windows == 0, np.nan, max8)
    max8 = np.round(max8)
    max8 = np.where((valid_windows >= 14) | (max8 > 160), max8, np.nan)
    daily["O3"] = max8
    # O3 daily max 1-h (the seventh indicator of the HJ 633-2012 daily report), with >= 20 valid hours.
    daily["O3_1h"] = np.where(valid.sum(axis=1) >= 20, np.round(np.nanmax(np.where(valid, o3, -np.inf), axis=1)), np.nan)
    for name in POLLUTANTS[:5]:
        daily[name] = np.round(daily[name], 1 if name == "CO" else 0)
    return daily


def assess(daily):
    sub = pd.DataFrame(index=daily.index)
    for name in ["SO2", "NO2", "PM10", "PM2.5", "CO"]:
        sub[name] = iaqi(daily[name], BREAKPOINTS_2012[name])
    sub["O3"] = iaqi(daily["O3"], BREAKPOINTS_2012["O3_8h"])
    sub["O3_1h"] = iaqi(daily["O3_1h"], BREAKPOINTS_2012["O3_1h"])
    all_valid = daily[POLLUTANTS].notna().all(axis=1)
    aqi = sub.max(axis=1)
    frame = pd.DataFrame({"aqi": aqi, "valid": all_valid})
    per_station = frame.groupby(level="station")
    result = pd.DataFrame(
        {
            "valid_days": per_station["valid"].sum(),
            "good_days": per_station.apply(lambda g: ((g["aqi"] <= 100) & g["valid"]).sum()),
            "heavy_days": per_station.apply(lambda g: ((g["aqi"] > 200) & g["valid"]).sum()),
        }
    )
    composite = 0.0
    attains_all = True
    grouped = daily.groupby(level="station")
    for name in POLLUTANTS:
        decimals = 1 if name == "CO" else 0
        pct = grouped[name].apply(lambda s: np.percentile(s.dropna(), PERCENTILE[name], method="linear"))
        pct = np.round(pct, decimals)
        result[f"{name}_P{PERCENTILE[name]}"] = pct
        attains = pct <= DAILY_LIMIT[name]
        if name in ANNUAL_LIMIT:
            mean = np.round(grouped[name].mean(), decimals)
            result[f"{name}_mean"] = mean
            attains &= mean <= ANNUAL_LIMIT[name]
            composite = composite + mean / COMPOSITE_DENOMINATOR[name]
        else:
            composite = composite + pct / COMPOSITE_DENOMINATOR[name]
        attains_all = attains_all & attains
    result["attains_all"] = attains_all
    result["composite"] = np.round(composite, 2)
    return result


def read_beijing(directory, year):
    frames = []
    for path in sorted(glob.glob(f"{directory}/PRSA_Data_*.csv")):
        frame = pd.read_csv(path)
        frame = frame[frame["year"] == year]
        frame["CO"] = frame["CO"] / 1000.0
        frames.append(frame)
    hours = pd.concat(frames)
    hours["date"] = pd.to_datetime(hours[["year", "month", "day"]])
    hours = hours.sort_values(["station", "date", "hour"])
    stations = {name: i for i, name in enumerate(sorted(hours["station"].unique()))}
    # A full 24-hour grid per station-day (the files have one row per hour).
    hours["station"] = hours["station"].map(stations)
    hours["day"] = (hours["date"] - pd.Timestamp(year=year, month=1, day=1)).dt.days
    return hours[["station", "day", "hour"] + POLLUTANTS], {i: name for name, i in stations.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--station-years", type=int, default=1000)
    parser.add_argument("--beijing")
    parser.add_argument("--year", type=int, default=2016)
    args = parser.parse_args()
    if args.beijing:
        hours, names = read_beijing(args.beijing, args.year)
        result = assess(daily_values(hours))
        result.index = [names[i] for i in result.index]
        print(result[["valid_days", "good_days", "heavy_days", "PM2.5_mean", "O3_P90", "composite"]].to_string())
        return
    hours = synthetic_hours(args.station_years)
    start, start_cpu = time.perf_counter(), time.process_time()
    daily = daily_values(hours)
    result = assess(daily)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    print(f"station-years: {args.station_years}; hours: {len(hours):,}; good days total {int(result['good_days'].sum())}")
    print(f"pandas/numpy annual assessment: {elapsed:.2f} s wall, {cpu:.2f} s CPU")


if __name__ == "__main__":
    main()
