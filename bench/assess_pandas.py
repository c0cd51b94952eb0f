#!/usr/bin/env python3
"""The pandas counterpart of `qingshan assess air --input FILES --from FROM --to TO --per-station`, end to end
from the UCI Beijing CSV files, for the speed comparison of BENCHMARKS.md ("qingshan assess air"): read the files,
keep the period, daily values per station (the rules of `annual_pandas.py`), the period assessment of every
station, the area's daily values (mean of the stations' daily values each day) and the area's assessment for
the period and per calendar month. Floats throughout, as a pandas user would write it; the Rust engine is exact.

Usage:
    python3 bench/assess_pandas.py --from 2013-03-01 --to 2017-02-28 /tmp/qingshan-bench/beijing-480/*.csv
"""

import argparse
import os
import sys

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import annual_pandas as ap  # noqa: E402


def read_hours(files, start, end):
    frames = []
    for path in files:
        frame = pd.read_csv(path, usecols=["year", "month", "day", "hour", "station"] + ap.POLLUTANTS)
        frame["date"] = pd.to_datetime(frame[["year", "month", "day"]])
        frame = frame[(frame["date"] >= start) & (frame["date"] <= end)].copy()
        frame["CO"] = frame["CO"] / 1000.0
        frames.append(frame)
    hours = pd.concat(frames, ignore_index=True).sort_values(["station", "date", "hour"])
    names = sorted(hours["station"].unique())
    hours["station"] = hours["station"].map({name: i for i, name in enumerate(names)})
    hours["day"] = (hours["date"] - start).dt.days
    return hours[["station", "day", "hour"] + ap.POLLUTANTS], names


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--from", dest="start", required=True)
    parser.add_argument("--to", dest="end", required=True)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    start, end = pd.Timestamp(args.start), pd.Timestamp(args.end)
    hours, names = read_hours(args.files, start, end)
    daily = ap.daily_values(hours)
    stations = ap.assess(daily)
    stations.index = [names[i] for i in stations.index]
    # The area: each day the mean of the stations' valid daily values, rounded as daily values are.
    area = daily.groupby(level="day").mean()
    for name in ap.POLLUTANTS + ["O3_1h"]:
        area[name] = np.round(area[name], 1 if name == "CO" else 0)
    days = area.index.to_numpy()
    whole = area.set_index(pd.MultiIndex.from_arrays([np.zeros(len(days), int), days], names=["station", "day"]))
    months = (start + pd.to_timedelta(days, unit="D")).to_period("M")
    codes = {month: i for i, month in enumerate(sorted(set(months)))}
    monthly = area.set_index(
        pd.MultiIndex.from_arrays([[codes[m] for m in months], days], names=["station", "day"])
    )
    area_result = ap.assess(whole)
    month_results = ap.assess(monthly)
    print(f"stations: {len(stations)}; station-days: {len(daily):,}; months: {len(month_results)}")
    print(area_result[["valid_days", "good_days", "heavy_days", "PM2.5_mean", "O3_P90", "composite"]].to_string())
    print(stations[["valid_days", "good_days", "PM2.5_mean", "composite"]].head(12).to_string())


if __name__ == "__main__":
    main()
