"""Prepare Fairgate's demo: train a real model on UCI Adult and save it safely.

Trains a scikit-learn pipeline (one-hot encoding + logistic regression) on the Adult training
split, saves it with skops (not pickle), and writes the holdout split as Parquet — the files a
team would hand Fairgate before a launch. The fitted model is the same every run (same data, a
deterministic solver), but its skops file's bytes are not (skops names array files after memory
addresses), so `make demo` trains it once per checkout and audits that file from then on.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

HERE = Path(__file__).resolve().parent
NUMERIC = ["age", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
CATEGORICAL = ["workclass", "marital_status", "occupation", "relationship", "race", "sex"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=HERE / "work")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    train = pd.read_csv(HERE / "data" / "adult-train.csv.gz")
    holdout = pd.read_csv(HERE / "data" / "adult-holdout.csv.gz")
    model = make_pipeline(
        ColumnTransformer(
            [
                ("num", StandardScaler(), NUMERIC),
                (
                    "cat",
                    make_pipeline(
                        SimpleImputer(strategy="constant", fill_value="missing"), OneHotEncoder(handle_unknown="ignore")
                    ),
                    CATEGORICAL,
                ),
            ]
        ),
        LogisticRegression(max_iter=1000),
    )
    model.fit(train[NUMERIC + CATEGORICAL], train["income"])
    sio.dump(model, args.out / "model.skops")
    holdout.to_parquet(args.out / "holdout.parquet", index=False)
    print(
        f"model:   {args.out / 'model.skops'} (holdout accuracy "
        f"{model.score(holdout[NUMERIC + CATEGORICAL], holdout['income']):.3f})"
    )
    print(f"holdout: {args.out / 'holdout.parquet'} ({len(holdout)} rows)")


if __name__ == "__main__":
    main()
