"""Stage `prepare`: synthetic card transactions (no downloads)."""

import csv
import random
from pathlib import Path

import yaml

params = yaml.safe_load(Path("params.yaml").read_text())["data"]
rng = random.Random(params["seed"])
with open("data/transactions.csv", "w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(["amount", "hour", "velocity", "fraud"])
    for _ in range(params["rows"]):
        fraud = rng.random() < 0.3
        shift = 1.2 if fraud else 0.0
        writer.writerow(
            [
                round(rng.gauss(shift, 1), 4),
                round(rng.gauss(shift / 2, 1), 4),
                round(rng.gauss(shift * 0.8, 1), 4),
                int(fraud),
            ]
        )
