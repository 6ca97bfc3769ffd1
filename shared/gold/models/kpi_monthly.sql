-- model: kpi_monthly
-- depends: fact_sales
-- Revenue KPIs per calendar month; only placed, shipped and delivered orders count.
WITH counted AS (
    SELECT * FROM fact_sales WHERE status IN ('placed', 'shipped', 'delivered')
),
per_customer AS (
    SELECT CAST(date_trunc('month', order_ts) AS DATE) AS month, customer_id,
        count(DISTINCT order_id) AS orders
    FROM counted GROUP BY ALL
)
SELECT
    m.month,
    m.revenue,
    m.orders,
    m.units,
    -- Rounded half up in integer cents: dividing a DECIMAL in DuckDB gives a DOUBLE.
    CAST(((m.revenue * 100)::HUGEINT * 2 + m.orders) // (2 * m.orders) * 0.01
         AS DECIMAL(18, 2)) AS aov,
    m.unique_customers,
    CAST(r.repeaters AS DOUBLE) / m.unique_customers AS repeat_purchase_rate
FROM (
    SELECT CAST(date_trunc('month', order_ts) AS DATE) AS month,
        CAST(sum(net_revenue) AS DECIMAL(18, 2)) AS revenue,
        count(DISTINCT order_id) AS orders,
        CAST(sum(quantity) AS BIGINT) AS units,
        count(DISTINCT customer_id) AS unique_customers
    FROM counted GROUP BY ALL
) m
JOIN (
    SELECT month, count(*) FILTER (WHERE orders >= 2) AS repeaters FROM per_customer GROUP BY ALL
) r USING (month)
ORDER BY m.month
