-- model: dim_date
-- depends: silver_orders
-- One row per day: every whole calendar year that holds an order date.
WITH span AS (
    SELECT
        make_date(year(min(order_ts)), 1, 1) AS first_day,
        make_date(year(max(order_ts)), 12, 31) AS last_day
    FROM silver_orders
)
SELECT
    CAST(strftime(day, '%Y%m%d') AS INTEGER) AS date_key,
    CAST(day AS DATE) AS full_date,
    year(day) AS year,
    quarter(day) AS quarter,
    month(day) AS month,
    monthname(day) AS month_name,
    isodow(day) AS day_of_week,
    isodow(day) >= 6 AS is_weekend
FROM span, generate_series(span.first_day, span.last_day, INTERVAL 1 DAY) AS days(day)
WHERE span.first_day IS NOT NULL
