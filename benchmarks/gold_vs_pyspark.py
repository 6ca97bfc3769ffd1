"""Gold side by side: this project's Gold build (DuckDB) and the same work in PySpark local
mode, on the same Silver tables.

    pip install pyspark            # not a project dependency; needs Java 17+
    python benchmarks/gold_vs_pyspark.py --order-lines 1000000

Builds a lake with about N order lines up to Silver (not timed), then times, each in its own
process: `build gold --full-refresh`, and a PySpark job that reads the same Silver files and
computes the same dimensions, fact_sales (point-in-time joins), kpi_monthly, customer_rfm and
cohort_retention, writing them as Parquet. Prints seconds and peak memory of both (for
Spark, of the driver process and its JVM), and whether the two kpi_monthly tables agree.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = Path(__file__).with_name("pipeline.py")

SPARK_SQL = {
    "dim_customer": """
        SELECT conv(substr(sha2(concat(customer_id, '|',
                   date_format(valid_from, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS")), 256), 1, 15), 16, 10)
                   AS customer_key, *
        FROM silver_customers""",
    "dim_product": """
        SELECT conv(substr(sha2(concat(product_id, '|',
                   date_format(valid_from, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS")), 256), 1, 15), 16, 10)
                   AS product_key, *
        FROM silver_products""",
    "fact_sales": """
        WITH lines AS (
            SELECT l.order_id, l.line_no, l.product_id, l.quantity, l.unit_price,
                coalesce(l.discount_pct, 0) AS discount_pct,
                o.customer_id, o.store_id, o.order_ts, o.status
            FROM silver_order_lines l JOIN silver_orders o ON l.order_id = o.order_id),
        cv AS (
            SELECT l.order_id, l.line_no,
                coalesce(
                    max_by(c.customer_key, c.valid_from) FILTER (WHERE c.valid_from <= l.order_ts),
                    min_by(c.customer_key, c.valid_from)) AS customer_key
            FROM lines l JOIN dim_customer c ON c.customer_id = l.customer_id
            GROUP BY l.order_id, l.line_no),
        pv AS (
            SELECT l.order_id, l.line_no,
                coalesce(
                    max_by(p.product_key, p.valid_from) FILTER (WHERE p.valid_from <= l.order_ts),
                    min_by(p.product_key, p.valid_from)) AS product_key
            FROM lines l JOIN dim_product p ON p.product_id = l.product_id
            GROUP BY l.order_id, l.line_no)
        SELECT l.*, cv.customer_key, pv.product_key,
            CAST(l.quantity * l.unit_price * (100 - l.discount_pct) * 0.01 AS DECIMAL(18, 2))
                AS net_revenue,
            CAST(l.quantity * l.unit_price * (100 - l.discount_pct) * 0.01 AS DECIMAL(18, 2))
                - l.quantity * p.unit_cost AS gross_profit
        FROM lines l
        LEFT JOIN cv ON cv.order_id = l.order_id AND cv.line_no = l.line_no
        LEFT JOIN pv ON pv.order_id = l.order_id AND pv.line_no = l.line_no
        LEFT JOIN dim_product p ON p.product_key = pv.product_key""",
    "kpi_monthly": """
        WITH counted AS (SELECT * FROM fact_sales WHERE status IN ('placed','shipped','delivered')),
        per_customer AS (
            SELECT CAST(date_trunc('month', order_ts) AS DATE) AS month, customer_id,
                count(DISTINCT order_id) AS orders FROM counted GROUP BY 1, 2)
        SELECT m.month, m.revenue, m.orders, m.units, m.unique_customers,
            r.repeaters / m.unique_customers AS repeat_purchase_rate
        FROM (SELECT CAST(date_trunc('month', order_ts) AS DATE) AS month,
                  CAST(sum(net_revenue) AS DECIMAL(18, 2)) AS revenue,
                  count(DISTINCT order_id) AS orders, sum(quantity) AS units,
                  count(DISTINCT customer_id) AS unique_customers
              FROM counted GROUP BY 1) m
        JOIN (SELECT month, count_if(orders >= 2) AS repeaters FROM per_customer GROUP BY 1) r
            ON r.month = m.month""",
    "customer_rfm": """
        WITH as_of AS (SELECT CAST(max(order_ts) AS DATE) AS day FROM fact_sales),
        pc AS (
            SELECT customer_id, datediff((SELECT day FROM as_of), CAST(max(order_ts) AS DATE))
                AS recency_days, count(DISTINCT order_id) AS frequency,
                CAST(sum(net_revenue) AS DECIMAL(18, 2)) AS monetary
            FROM fact_sales WHERE status IN ('placed','shipped','delivered') GROUP BY customer_id)
        SELECT *, CASE WHEN recency_days <= 30 THEN 4 WHEN recency_days <= 60 THEN 3
                       WHEN recency_days <= 90 THEN 2 ELSE 1 END AS r_score,
                  CASE WHEN frequency >= 5 THEN 4 WHEN frequency >= 3 THEN 3
                       WHEN frequency = 2 THEN 2 ELSE 1 END AS f_score,
                  CASE WHEN monetary >= 2000 THEN 4 WHEN monetary >= 1000 THEN 3
                       WHEN monetary >= 300 THEN 2 ELSE 1 END AS m_score
        FROM pc""",
    "cohort_retention": """
        WITH activity AS (
            SELECT DISTINCT customer_id, CAST(date_trunc('month', order_ts) AS DATE) AS month
            FROM fact_sales WHERE status IN ('placed','shipped','delivered')),
        cohorts AS (SELECT customer_id, min(month) AS cohort_month FROM activity GROUP BY 1),
        sizes AS (SELECT cohort_month, count(*) AS cohort_size FROM cohorts GROUP BY 1)
        SELECT c.cohort_month, CAST(months_between(a.month, c.cohort_month) AS INT) AS months_since,
            s.cohort_size, count(*) AS active_customers, count(*) / s.cohort_size AS retention_rate
        FROM activity a JOIN cohorts c ON a.customer_id = c.customer_id
        JOIN sizes s ON s.cohort_month = c.cohort_month GROUP BY 1, 2, 3""",
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--order-lines", type=int, default=1_000_000)
    p.add_argument("--workdir", help="an existing benchmark folder to reuse")
    p.add_argument("--spark-phase", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.spark_phase:
        return _spark(Path(args.workdir))
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="lakehouse-vs-spark-"))
    if not (workdir / "lake" / "silver").exists():
        subprocess.run(
            [
                sys.executable,
                str(PIPELINE),
                "--order-lines",
                str(args.order_lines),
                "--workdir",
                str(workdir),
            ],
            check=True,
            cwd=ROOT,
        )
    print(f"{'engine':<10}{'seconds':>10}{'peak MB':>10}")
    for name, command in (
        ("duckdb", [sys.executable, str(PIPELINE), "--phase", "gold", "--workdir", str(workdir)]),
        ("pyspark", [sys.executable, __file__, "--spark-phase", "--workdir", str(workdir)]),
    ):
        started = time.perf_counter()
        out = workdir / f"{name}.out"
        with out.open("w") as handle:
            child = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT)
            _, status, usage = os.wait4(child.pid, 0)
        if status:
            sys.exit(f"{name} failed; see {out}")
        seconds = time.perf_counter() - started
        peak_mb = usage.ru_maxrss / 1024
        # Spark's work happens in its JVM, a child of the Python driver: add its peak.
        for line in out.read_text().splitlines():
            if line.startswith("jvm peak MB "):
                peak_mb += float(line.rsplit(" ", 1)[1])
        print(f"{name:<10}{seconds:>10.2f}{peak_mb:>10,.0f}")
    print((workdir / "pyspark.out").read_text().strip().splitlines()[-1])
    return 0


def _spark(workdir: Path) -> int:
    sys.path.insert(0, str(ROOT))
    from deltalake import DeltaTable
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[*]")
        .appName("gold-vs-duckdb")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    lake = workdir / "lake"
    for table in ("customers", "products", "orders", "order_lines"):
        files = DeltaTable(str(lake / "silver" / table)).file_uris()
        spark.read.parquet(*files).createOrReplaceTempView(f"silver_{table}")
    out = workdir / "spark-gold"
    for name, sql in SPARK_SQL.items():
        frame = spark.sql(sql)
        frame.write.mode("overwrite").parquet(str(out / name))
        spark.read.parquet(str(out / name)).createOrReplaceTempView(name)
    ours = {
        (r["month"], str(r["revenue"]), r["orders"])
        for r in DeltaTable(str(lake / "gold" / "kpi_monthly")).to_pyarrow_table().to_pylist()
    }
    theirs = {
        (r["month"], str(r["revenue"]), r["orders"]) for r in spark.table("kpi_monthly").collect()
    }
    jvm = spark.sparkContext._gateway.proc.pid  # the only handle PySpark gives on its JVM
    status = Path(f"/proc/{jvm}/status").read_text()
    peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM"))
    print(f"jvm peak MB {peak_kb / 1024:.0f}")
    print(f"kpi_monthly agrees: {ours == theirs} ({len(ours)} months)")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
