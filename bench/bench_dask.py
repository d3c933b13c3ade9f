"""Wall time of a launch cycle on the default runner and on a local Dask cluster.

Run by hand (not a test):

    PYTHONPATH=src .venv/bin/python bench/bench_dask.py                       # 1,500 reviews, real model, 300 series
    PYTHONPATH=src .venv/bin/python bench/bench_dask.py --model hashing-384 --reviews 5000 --series 811

Both cycles run in this process against a temporary Prefect home and MLflow store, on the bundled
clothing reviews and UCI weekly sales; the dask cycle refreshes the stage cache so it computes
everything again. Prints each cycle's wall time, the ratio, and whether the insight and trends
tables of the two cycles are identical.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviews", type=int, default=1500)
    parser.add_argument("--series", type=int, default=300)
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="launchlab-bench-dask-"))
    os.environ.update(
        {
            "PREFECT_HOME": str(home / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "LAUNCHLAB_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}",
            "LAUNCHLAB_ARTIFACT_ROOT": str(home / "artifacts"),
            "LAUNCHLAB_EXPERIMENT": "bench-dask",
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
        }
    )
    os.environ.pop("PREFECT_API_URL", None)
    import pandas as pd
    import pyarrow.parquet as pq
    from prefect.settings import PREFECT_TASKS_REFRESH_CACHE, temporary_settings

    from flows.launch_cycle import launch_cycle
    from flows.scaleout import local_cluster_kwargs
    from launchlab.config import CycleConfig

    weekly = pd.read_csv(REPO / "data" / "uci_sales_weekly.csv")
    weekly.head(args.series).to_csv(home / "sales.csv", index=False)
    weekly.head(3).to_csv(home / "warm.csv", index=False)

    def config(name: str, reviews: int = args.reviews, sales: str = "sales.csv") -> CycleConfig:
        return CycleConfig.model_validate(
            {
                "name": f"bench-{name}",
                "embedding_model": args.model,
                "reviews": {"path": str(REPO / "data" / "womens_clothing_reviews.parquet"), "sample": reviews},
                "series": [{"path": str(home / sales)}],
                "concepts": str(REPO / "data" / "concepts.yaml"),
                "adoption": {"path": str(REPO / "data" / "ibm_mainframe_generations.csv")},
                "out_dir": str(home / name),
            }
        )

    launch_cycle(config("warm", reviews=30, sales="warm.csv"))  # starts Prefect's temporary server, imports, JIT
    timings = {}
    start = time.perf_counter()
    launch_cycle(config("default"))
    timings["default"] = time.perf_counter() - start
    with temporary_settings(updates={PREFECT_TASKS_REFRESH_CACHE: True}):
        start = time.perf_counter()
        launch_cycle(config("dask"), task_runner="dask")
        timings["dask"] = time.perf_counter() - start

    cluster = local_cluster_kwargs()
    print(f"cpu cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    print(f"slice: {args.reviews} reviews ({args.model}), {args.series} weekly series; "
          f"dask: local cluster of {cluster['n_workers']} worker processes x {cluster['threads_per_worker']} thread")
    print(f"default runner: {timings['default']:.1f} s")
    print(f"dask runner:    {timings['dask']:.1f} s")
    print(f"ratio dask/default: {timings['dask'] / timings['default']:.2f}")
    for folder, table in [("insight", "needs"), ("insight", "reviews"), ("trends", "forecasts"), ("trends", "trends")]:
        same = pq.read_table(home / "default" / folder / f"{table}.parquet").equals(pq.read_table(home / "dask" / folder / f"{table}.parquet"))
        print(f"{folder}/{table}: {'identical' if same else 'DIFFERS'}")


if __name__ == "__main__":
    main()
